import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/** Monitoring rules (job failures, staleness) are written against these exact names (cron jobs only). */
export const JOB_LAST_SUCCESS = 'churn_scheduled_job_last_success_timestamp_seconds';
export const JOB_RUNS = 'churn_scheduled_job_runs_total';

/** Every background job, by job name. */
export const JOBS_QUEUED = 'churn_jobs_queued';
export const JOBS_RUNNING = 'churn_jobs_running';
export const JOBS_SUCCEEDED = 'churn_jobs_succeeded_total';
export const JOBS_FAILED = 'churn_jobs_failed_total';
export const JOBS_RETRIED = 'churn_jobs_retried_total';
export const JOB_DURATION = 'churn_job_duration_seconds';

export const jobsMetrics = [
  makeGaugeProvider({
    name: JOB_LAST_SUCCESS,
    help: 'End of the last successful run of a scheduled job (seconds since the epoch), by any replica; read from the jobs table at start and every few minutes.',
    labelNames: ['job_name'],
  }),
  makeCounterProvider({
    name: JOB_RUNS,
    help: 'Runs of a scheduled job executed by this replica, by outcome (succeeded | failed; a run abandoned by dead replicas counts as failed).',
    labelNames: ['job_name', 'status'],
  }),
  makeGaugeProvider({ name: JOBS_QUEUED, help: 'Jobs waiting to run (due or not), across replicas; read from the jobs table.', labelNames: ['job_name'] }),
  makeGaugeProvider({ name: JOBS_RUNNING, help: 'Jobs this replica is running now.', labelNames: ['job_name'] }),
  makeCounterProvider({ name: JOBS_SUCCEEDED, help: 'Jobs this replica finished successfully.', labelNames: ['job_name'] }),
  makeCounterProvider({
    name: JOBS_FAILED,
    help: 'Jobs this replica marked failed (attempts used up, or an error a cron slot does not retry).',
    labelNames: ['job_name'],
  }),
  makeCounterProvider({ name: JOBS_RETRIED, help: 'Job attempts that failed on this replica and were queued again with backoff.', labelNames: ['job_name'] }),
  makeHistogramProvider({
    name: JOB_DURATION,
    help: 'Duration of one job attempt on this replica, by outcome.',
    labelNames: ['job_name', 'outcome'],
    buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120, 600, 3600],
  }),
];
