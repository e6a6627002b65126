import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit chain becomes keyed (see src/modules/audit/audit-hash.ts): each entry records the scheme of
 * its hash. Entries written so far keep the public sha256 formula and still verify with it; every new
 * entry is an HMAC with AUDIT_HMAC_KEY, which the database does not hold.
 *
 * audit_chain_legacy records once, here, the newest entry that may use the public formula, so that a
 * superuser cannot rewrite later entries with it and call them legacy (append-only like audit_log; a
 * superuser who disables triggers to move it is caught by the external head anchor instead).
 */
export class AuditHashScheme1796230153996 implements MigrationInterface {
  name = 'AuditHashScheme1796230153996';

  async up(q: QueryRunner): Promise<void> {
    // A default on ADD COLUMN is stored in the catalog (no rewrite, no UPDATE trigger): existing rows read 'sha256'.
    await q.query(`ALTER TABLE audit_log ADD COLUMN hash_scheme text NOT NULL DEFAULT 'sha256'`);
    // New rows must name their scheme.
    await q.query('ALTER TABLE audit_log ALTER COLUMN hash_scheme DROP DEFAULT');
    await q.query(`ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_scheme CHECK (hash_scheme IN ('sha256', 'hmac-sha256'))`);

    await q.query(`CREATE TABLE audit_chain_legacy (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      last_id   bigint NOT NULL
    )`);
    await q.query('LOCK TABLE audit_log IN EXCLUSIVE MODE');
    await q.query('INSERT INTO audit_chain_legacy (last_id) SELECT coalesce(max(id), 0) FROM audit_log');
    await q.query(`CREATE FUNCTION audit_chain_legacy_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_chain_legacy is fixed at migration: it cannot be changed'
          USING ERRCODE = 'insufficient_privilege';
      END
    $$`);
    await q.query(`CREATE TRIGGER audit_chain_legacy_fixed
      BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_legacy
      FOR EACH ROW EXECUTE FUNCTION audit_chain_legacy_refuse_change()`);
    await q.query(`CREATE TRIGGER audit_chain_legacy_no_truncate
      BEFORE TRUNCATE ON audit_chain_legacy
      FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_legacy_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_chain_legacy');
    await q.query('DROP FUNCTION audit_chain_legacy_refuse_change()');
    await q.query('ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_scheme');
    await q.query('ALTER TABLE audit_log DROP COLUMN hash_scheme');
  }
}
