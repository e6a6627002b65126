import { execFile, spawn } from 'node:child_process';
import { childProcessEnv } from '../../config/child-env';

/** A tool the backup needs failed; the message carries its stderr and what to do. */
export class BackupToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupToolError';
  }
}

/** Runs a command without a shell; rejects with its stderr (last 2 KB) when it fails or is not installed. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; input?: string; hint?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: childProcessEnv(options.env ?? {}), signal: options.signal, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2048)));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new BackupToolError(`${command} is not installed or not on PATH${options.hint ? ` (${options.hint})` : ''}`));
      else reject(err.name === 'AbortError' ? err : new BackupToolError(`${command} failed to start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new BackupToolError(`${command} ${args[0] ?? ''} exited with ${code ?? signal}: ${stderr.trim() || '(no output)'}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The first line a tool prints for --version (`pg_dump (PostgreSQL) 15.18 ...`). */
export async function toolVersion(command: string): Promise<string> {
  const { stdout } = await run(command, ['--version']);
  return stdout.trim().split('\n')[0];
}

/**
 * libpq arguments for a postgres:// URL without putting the password on the command line (where `ps`
 * shows it): the URL minus its password, and PGPASSWORD for the child's environment.
 */
export function libpqTarget(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** execFile as a promise, for short commands whose output we parse. */
export function execFileText(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { env: childProcessEnv(env ?? {}), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new BackupToolError(`${command} failed: ${stderr.trim() || err.message}`)) : resolve(stdout),
    ),
  );
}
