import { SetMetadata } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config.schema';
import { JobName } from './job-names';

export const JOB_HANDLER = Symbol('job-handler');

/** What a handler is given: the job, a signal, and a way to report progress. */
export interface JobContext<P = Record<string, unknown>> {
  id: string;
  name: string;
  key: string;
  payload: P;
  /** 1 on the first run; counts retries and adoptions after a dead replica. */
  attempt: number;
  /** The attempt after which a failure is final. */
  maxAttempts: number;
  /** Aborted (with a JobAbort saying why) when the job is cancelled, when this replica lost its lease, or at shutdown: stop soon. */
  signal: AbortSignal;
  /** The replica that ran it last (null on a first run). */
  previousOwner: string | null;
  /** True when that replica stopped while running it (its lease expired, or its process is gone): the work may be half done. */
  adopted: boolean;
  /** Stored on the job row (for the API and the CLI progress bars). */
  progress(value: Record<string, unknown>): Promise<void>;
  /**
   * Fencing: inside the caller's transaction, checks that this replica still holds the job (and renews
   * its lease), so that work committed with it cannot come from a replica that lost the job. Throws
   * JobLostError otherwise.
   */
  fence(manager: EntityManager): Promise<void>;
}

/** This replica no longer holds the job (its lease expired and another replica took it over). */
export class JobLostError extends Error {
  constructor(job: string) {
    super(`job ${job} is no longer held by this replica (another one took it over)`);
    this.name = 'JobLostError';
  }
}

/** The reason of a handler's aborted signal. After `shutdown` or `lease-lost`, throw: the job runs again elsewhere. */
export class JobAbort extends Error {
  constructor(readonly why: 'cancelled' | 'shutdown' | 'lease-lost') {
    super(why === 'cancelled' ? 'the job was cancelled' : why === 'shutdown' ? 'the service is shutting down' : 'this replica lost the lease of the job');
    this.name = 'JobAbort';
  }
}

export interface JobHandlerOptions {
  /** A cron job: one run per occurrence of this expression (SCHEDULER_TIMEZONE), across replicas, with catch-up. */
  cron?: string | ((config: AppConfig) => string);
  /** Claims before the job is marked failed (default 3). Each start, retry or adoption counts one. */
  maxAttempts?: number;
  /**
   * Whether a thrown error is retried with backoff (default true). Cron jobs default to false: the
   * next slot is their retry, and a failed slot raises ScheduledJobFailed.
   */
  retryErrors?: boolean;
  /** Jobs of this name one replica runs at once (default: up to JOBS_CONCURRENCY). */
  concurrency?: number;
  /** First retry delay (doubles per attempt, with jitter; default 1 s). */
  backoffBaseMs?: number | ((config: AppConfig) => number);
}

export interface JobHandlerMetadata extends JobHandlerOptions {
  name: JobName;
}

/** Marks a provider method as the handler of one job name; found at start by the jobs module. */
export const JobHandler = (name: JobName, options: JobHandlerOptions = {}) => SetMetadata(JOB_HANDLER, { ...options, name } satisfies JobHandlerMetadata);
