import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';

/** Alert rules (a head that moves backwards, a broken chain) are written against these exact names. */
export const AUDIT_HEAD_SEQUENCE = 'churn_audit_head_sequence';
export const AUDIT_CHAIN_VALID = 'churn_audit_chain_valid';
export const AUDIT_LAST_VERIFY = 'churn_audit_last_verify_timestamp_seconds';

export const auditMetrics = [
  makeGaugeProvider({
    name: AUDIT_HEAD_SEQUENCE,
    help: 'Position of the newest audit entry (the number of entries) at the last verification; it never decreases unless entries were removed.',
  }),
  makeGaugeProvider({
    name: AUDIT_CHAIN_VALID,
    help: '1 when the last verification of the audit chain (periodic or GET /api/v1/audit/verify) found it whole, 0 when it found it broken or truncated.',
  }),
  makeGaugeProvider({ name: AUDIT_LAST_VERIFY, help: 'End of the last verification of the audit chain on this replica (seconds since the epoch).' }),
];
