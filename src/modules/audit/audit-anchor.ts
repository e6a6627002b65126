/** The newest entry of the audit chain: its position (1 = the first entry), id and hash. */
export interface AuditHead {
  seq: number;
  id: string;
  hash: string;
}

/**
 * A place outside the database that keeps the audit chain's head, so that a chain someone truncated or
 * rewrote (a superuser can do both, the HMAC only stops them from forging new entries) is told from a
 * whole one. The service's log and metrics are one (AuditChainMonitor); the backup manifests of the
 * backup module are meant to be another: implement this and call AuditChainMonitor.register(anchor).
 */
export interface AuditAnchor {
  /** For logs: 'backup-manifest', ... */
  readonly name: string;
  /** Keeps the current head. Called every AUDIT_HEAD_LOG_INTERVAL_MS, never on a request path. */
  publish(head: AuditHead): Promise<void>;
  /** The newest head this anchor keeps (verified to be in the chain), or null when it keeps none. */
  latest?(): Promise<Pick<AuditHead, 'seq' | 'hash'> | null>;
}
