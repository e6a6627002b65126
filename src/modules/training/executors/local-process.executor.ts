import { ChildProcess, spawn } from 'node:child_process';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { childProcessEnv } from '../../../config/child-env';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { MLFLOW_NO_TELEMETRY_ENV } from '../../../mlflow/mlflow-telemetry';
import { ExecutionCallbacks, lineSplitter, TrainerInvocation, TrainingExecutor } from './training-executor';

const KILL_GRACE_MS = 10_000;

/** Runs the trainer as a child process (its own process group) with the project venv's Python. */
@Injectable()
export class LocalProcessExecutor implements TrainingExecutor {
  readonly kind = 'local' as const;
  private readonly logger = new Logger(LocalProcessExecutor.name);
  private readonly children = new Map<string, { child: ChildProcess; cancelled: boolean }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  start(invocation: TrainerInvocation, callbacks: ExecutionCallbacks): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.TRAINER_PYTHON, ['-u', '-m', 'trainer.train', ...invocation.args], {
        cwd: this.config.TRAINER_WORKDIR,
        detached: true, // own process group: cancel and timeout kill the trainer and anything it started
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childProcessEnv({ PYTHONUNBUFFERED: '1' }, MLFLOW_NO_TELEMETRY_ENV),
      });
      const entry = { child, cancelled: false };
      let timedOut = false;
      const stdout = lineSplitter((l) => callbacks.onLine('stdout', l));
      const stderr = lineSplitter((l) => callbacks.onLine('stderr', l));
      child.stdout!.on('data', (d) => stdout.push(d));
      child.stderr!.on('data', (d) => stderr.push(d));
      const timer = setTimeout(() => {
        timedOut = true;
        this.killGroup(child, 'SIGTERM');
      }, invocation.timeoutMs);
      timer.unref();

      child.once('error', (err) => {
        clearTimeout(timer);
        this.children.delete(String(child.pid));
        reject(new Error(`could not start the trainer (${this.config.TRAINER_PYTHON}): ${err.message}. Run scripts/setup-python.sh or set TRAINER_PYTHON.`));
      });
      child.once('spawn', () => {
        this.children.set(String(child.pid), entry);
        resolve(String(child.pid));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        stdout.end();
        stderr.end();
        this.children.delete(String(child.pid));
        const reason = entry.cancelled
          ? 'cancelled'
          : timedOut
            ? `timed out after ${Math.round(invocation.timeoutMs / 60000)} min (TRAINING_TIMEOUT_MINUTES)`
            : signal
              ? `the trainer process was killed by ${signal}`
              : undefined;
        callbacks.onExit({ exitCode: signal ? null : code, reason, cancelled: entry.cancelled });
      });
    });
  }

  async cancel(ref: string): Promise<void> {
    const entry = this.children.get(ref);
    if (entry) {
      entry.cancelled = true;
      this.killGroup(entry.child, 'SIGTERM');
      return;
    }
    // Not our child (an earlier life of the service): kill the orphaned group directly.
    killPgid(Number(ref), 'SIGKILL');
  }

  async resume(): Promise<boolean> {
    // A local trainer's output pipe dies with the service that started it; such a run cannot be re-attached.
    return false;
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    killPgid(child.pid, signal);
    const escalate = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        this.logger.warn(`trainer ${child.pid} ignored ${signal}; sending SIGKILL`);
        killPgid(child.pid!, 'SIGKILL');
      }
    }, KILL_GRACE_MS);
    escalate.unref();
  }
}

export function killPgid(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
