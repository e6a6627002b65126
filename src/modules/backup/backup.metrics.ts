import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Gauge, register } from 'prom-client';

// Names are a contract with monitoring/ (alert rules, dashboards, runbooks): do not rename.
export const BACKUP_LAST_SUCCESS = 'churn_backup_last_success_timestamp_seconds';
export const BACKUP_LAST_VERIFIED = 'churn_backup_last_verified_timestamp_seconds';
export const BACKUP_LAST_DRILL_SUCCESS = 'churn_backup_last_drill_success';
export const BACKUP_RPO = 'churn_backup_rpo_seconds';
export const RESTORE_DRILL_DURATION = 'churn_restore_drill_duration_seconds';
export const BACKUP_BYTES = 'churn_backup_bytes';
export const BACKUP_FAILURES = 'churn_backup_failures_total';

/** How often every replica re-reads the backup and drill gauges from Postgres (so that replicas agree). */
export const GAUGE_REFRESH_MS = 30_000;

/** Labelled gauges are absent until a value is set; these three exist from the start as providers. */
export const backupMetrics = [
  makeGaugeProvider({
    name: BACKUP_LAST_SUCCESS,
    help: 'When the newest complete backup of a kind (database, artifacts, wal) was written to every destination (Unix seconds).',
    labelNames: ['kind'],
  }),
  makeGaugeProvider({ name: BACKUP_BYTES, help: 'Size in bytes of the newest complete backup of a kind.', labelNames: ['kind'] }),
  makeCounterProvider({ name: BACKUP_FAILURES, help: 'Backups of a kind that failed.', labelNames: ['kind'] }),
];

const UNLABELLED_HELP: Record<string, string> = {
  [BACKUP_LAST_VERIFIED]: 'When a restore drill last passed (Unix seconds).',
  [BACKUP_LAST_DRILL_SUCCESS]: 'Outcome of the last restore drill: 1 passed, 0 failed.',
  [RESTORE_DRILL_DURATION]: 'Measured RTO: seconds the last passing restore drill took to restore and verify a backup.',
  [BACKUP_RPO]: 'Seconds of committed WAL not yet archived by pgBackRest (0 when nothing is pending).',
};

/**
 * A gauge without labels that is absent from /metrics until it is first set: "no drill has run yet" and
 * "WAL is not archived here" must not read as 0 (an unlabelled prom-client gauge always exports a value).
 */
export class LazyGauge {
  private gauge?: Gauge<string>;

  constructor(readonly name: keyof typeof UNLABELLED_HELP & string) {}

  set(value: number): void {
    this.gauge ??=
      (register.getSingleMetric(this.name) as Gauge<string> | undefined) ??
      new Gauge({ name: this.name, help: UNLABELLED_HELP[this.name], registers: [register] });
    this.gauge.set(value);
  }
}
