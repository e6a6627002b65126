import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

const MODULE = path.resolve(__dirname, '..', '..', 'dist/src/database/embedded-postgres.js');

/**
 * A Postgres of its own that a test can really stop and start again (same data directory and port),
 * run in a child process because embedded-postgres is ESM-only and jest's sandbox cannot load it.
 */
export class StandalonePostgres {
  private proc?: ChildProcess;
  url = '';

  constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    const script = `const m = require(${JSON.stringify(MODULE)});
      m.startEmbeddedPostgres(${JSON.stringify(this.dir)}, ${this.port}).then((db) => {
        process.stdout.write('READY ' + db.url + '\\n');
        process.on('SIGTERM', () => db.stop().then(() => process.exit(0)));
      }, (err) => { process.stderr.write(String(err)); process.exit(1); });`;
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d) => {
        out += d;
        const m = out.match(/READY (\S+)/);
        if (m) resolve(m[1]);
      });
      proc.stderr!.on('data', (d) => (out += d));
      proc.once('exit', (code) => reject(new Error(`Postgres helper exited with ${code}: ${out}`)));
    });
  }

  /** The helper process, parent of the postmaster and its backends. */
  get pid(): number {
    return this.proc!.pid!;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}
