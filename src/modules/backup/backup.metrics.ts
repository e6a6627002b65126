import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

// Names are a contract with monitoring/ (alert rules, dashboards, runbooks): do not rename.
export const BACKUP_LAST_SUCCESS = 'churn_backup_last_success_timestamp_seconds';
export const BACKUP_LAST_VERIFIED = 'churn_backup_last_verified_timestamp_seconds';
export const BACKUP_LAST_DRILL_SUCCESS = 'churn_backup_last_drill_success';
export const BACKUP_RPO = 'churn_backup_rpo_seconds';
export const RESTORE_DRILL_DURATION = 'churn_restore_drill_duration_seconds';
export const BACKUP_BYTES = 'churn_backup_bytes';
export const BACKUP_FAILURES = 'churn_backup_failures_total';

export const backupMetrics = [
  makeGaugeProvider({
    name: BACKUP_LAST_SUCCESS,
    help: 'When the newest complete backup of a kind (database, artifacts, wal) was written to every destination (Unix seconds).',
    labelNames: ['kind'],
  }),
  makeGaugeProvider({ name: BACKUP_LAST_VERIFIED, help: 'When a restore drill last passed (Unix seconds).' }),
  makeGaugeProvider({ name: BACKUP_LAST_DRILL_SUCCESS, help: 'Outcome of the last restore drill: 1 passed, 0 failed.' }),
  makeGaugeProvider({
    name: BACKUP_RPO,
    help: 'Seconds of committed WAL not yet archived by pgBackRest (0 when nothing is pending); absent when WAL archiving is off.',
  }),
  makeGaugeProvider({ name: RESTORE_DRILL_DURATION, help: 'Measured RTO: seconds the last restore drill took to restore and verify a backup.' }),
  makeGaugeProvider({ name: BACKUP_BYTES, help: 'Size in bytes of the newest complete backup of a kind.', labelNames: ['kind'] }),
  makeCounterProvider({ name: BACKUP_FAILURES, help: 'Backups of a kind that failed.', labelNames: ['kind'] }),
];
