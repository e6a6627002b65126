import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each canary keeps the champion it ran against, so its history says so after the champion changes
 * (it showed the replica's current champion before). Existing rows are backfilled best-effort: from
 * the canary.started audit entry, which recorded the champion; else from the last stage transition
 * to Production before the canary started; else it stays null (shown as unknown).
 */
export class CanaryChampionVersion1796396700000 implements MigrationInterface {
  name = 'CanaryChampionVersion1796396700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE canaries ADD COLUMN champion_version text`);
    await q.query(`UPDATE canaries c SET champion_version = a.after->>'champion_version'
      FROM audit_log a
      WHERE a.action = 'canary.started' AND a.target_type = 'canary' AND a.target_id = c.id::text AND a.after ? 'champion_version'`);
    await q.query(`UPDATE canaries c SET champion_version = (
        SELECT t.version FROM stage_transitions t
        WHERE t.model_name = c.model_name AND t.to_stage = 'Production' AND t.created_at <= c.started_at
        ORDER BY t.created_at DESC, t.id DESC LIMIT 1)
      WHERE c.champion_version IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE canaries DROP COLUMN champion_version');
  }
}
