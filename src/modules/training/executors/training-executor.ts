import { LogStream } from '../entities/training-log.entity';

/** What an executor needs to run one trainer invocation. */
export interface TrainerInvocation {
  runId: string;
  /** Arguments after `python -m trainer.train`. */
  args: string[];
  timeoutMs: number;
}

export interface ExecutionOutcome {
  /** Exit code of the trainer, or null when it was killed by a signal / lost. */
  exitCode: number | null;
  /** Why it ended when not by its own exit: a signal, a timeout, a cancel, a lost pod. */
  reason?: string;
  cancelled?: boolean;
}

export interface ExecutionCallbacks {
  onLine(stream: LogStream, line: string): void;
  onExit(outcome: ExecutionOutcome): void;
}

/**
 * Runs the reference trainer somewhere — a local process or a Kubernetes Job — and reports its
 * output line by line. `start` resolves with a reference (pgid, Job name) stored on the run.
 */
export interface TrainingExecutor {
  readonly kind: 'local' | 'kubernetes';
  start(invocation: TrainerInvocation, callbacks: ExecutionCallbacks): Promise<string>;
  cancel(ref: string): Promise<void>;
  /** Re-attaches to a run started by a replica that died; false when it cannot (the run is lost). */
  resume(runId: string, ref: string, callbacks: ExecutionCallbacks): Promise<boolean>;
}

export const TRAINING_EXECUTOR = Symbol('TRAINING_EXECUTOR');

/** Splits a byte stream into lines, keeping a partial last line until more data arrives. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const text = rest + chunk.toString();
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p.replace(/\r$/, ''));
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}
