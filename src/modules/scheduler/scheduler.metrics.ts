import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

/** Monitoring rules (job failures, staleness) are written against these exact names. */
export const JOB_LAST_SUCCESS = 'churn_scheduled_job_last_success_timestamp_seconds';
export const JOB_RUNS = 'churn_scheduled_job_runs_total';

export const schedulerMetrics = [
  makeGaugeProvider({
    name: JOB_LAST_SUCCESS,
    help: 'End of the last successful run of a scheduled job (seconds since the epoch), by any replica; read from job_runs at start and every few minutes.',
    labelNames: ['job_name'],
  }),
  makeCounterProvider({
    name: JOB_RUNS,
    help: 'Runs of a scheduled job executed by this replica, by outcome (succeeded | failed; a run abandoned by a dead replica counts as failed).',
    labelNames: ['job_name', 'status'],
  }),
];
