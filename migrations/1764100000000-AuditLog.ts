import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tamper-evident audit trail: one row per governance action, hash-chained (see
 * src/modules/audit/audit-hash.ts), and append-only in the database itself.
 *
 * The app connects as the table owner (a superuser locally), so privileges alone would not stop an
 * UPDATE or DELETE: the triggers below do, for every role. In production the app's role should
 * additionally be granted only INSERT and SELECT on audit_log (and USAGE on its sequence), e.g.
 *   REVOKE ALL ON audit_log FROM app_role; GRANT INSERT, SELECT ON audit_log TO app_role;
 *   GRANT USAGE ON SEQUENCE audit_log_id_seq TO app_role;
 * so that even disabling the triggers needs a different (owner) role. Anything that still slips
 * through (a superuser disabling the triggers) is caught by the hash chain: GET /api/v1/audit/verify.
 */
export class AuditLog1764100000000 implements MigrationInterface {
  name = 'AuditLog1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE audit_log (
      id            bigserial PRIMARY KEY,
      at            timestamptz NOT NULL DEFAULT now(),
      actor_key_id  varchar(16),
      action        text NOT NULL,
      target_type   text NOT NULL,
      target_id     text NOT NULL,
      model_name    text,
      before        jsonb,
      after         jsonb,
      reason        text,
      request_id    text,
      prev_hash     char(64) NOT NULL,
      hash          char(64) NOT NULL UNIQUE,
      -- The chain is linear: an entry can be the predecessor of at most one other entry, so two
      -- writers that raced past the advisory lock (or a stale snapshot) fail instead of forking it.
      CONSTRAINT audit_log_prev_hash_unique UNIQUE (prev_hash)
    )`);
    await q.query(`CREATE INDEX audit_log_by_model ON audit_log (model_name, id)`);
    await q.query(`CREATE INDEX audit_log_by_actor ON audit_log (actor_key_id, id)`);
    await q.query(`CREATE INDEX audit_log_by_time ON audit_log (at)`);

    await q.query(`CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: entries cannot be changed or deleted'
          USING ERRCODE = 'insufficient_privilege', HINT = 'Record a new entry instead.';
      END
    $$`);
    await q.query(`CREATE TRIGGER audit_log_no_update_delete
      BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`);
    await q.query(`CREATE TRIGGER audit_log_no_truncate
      BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    // DROP TABLE is not blocked by the triggers: rolling the migration back is an owner's decision.
    await q.query('DROP TABLE audit_log');
    await q.query('DROP FUNCTION audit_log_refuse_change()');
  }
}
