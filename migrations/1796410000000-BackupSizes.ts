import { MigrationInterface, QueryRunner } from 'typeorm';

/** Bytes per kind of each backup, so that every replica can export the size gauge from the table. */
export class BackupSizes1796410000000 implements MigrationInterface {
  name = 'BackupSizes1796410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups ADD COLUMN sizes jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups DROP COLUMN sizes`);
  }
}
