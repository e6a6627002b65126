import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../src/database/migrations';
import { freshDatabase } from '../support/test-app';

describe('migrations', () => {
  it('run once even when several replicas start at the same moment', async () => {
    const url = await freshDatabase('migrations');
    const results = await Promise.all([runMigrations(url), runMigrations(url), runMigrations(url)]);
    const total = fs.readdirSync(path.resolve(__dirname, '..', '..', 'migrations')).filter((f) => f.endsWith('.ts')).length;
    expect(results.map((r) => r.length).sort()).toEqual([0, 0, total]);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT name FROM schema_migrations');
      expect(rows).toHaveLength(total);
    } finally {
      await c.end();
    }
  });

  it('let the database itself refuse a second Production version of a model', async () => {
    const url = await freshDatabase('one_production');
    await runMigrations(url);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`INSERT INTO model_versions (model_name, version, stage) VALUES ('m', '1', 'Production')`);
      await expect(c.query(`INSERT INTO model_versions (model_name, version, stage) VALUES ('m', '2', 'Production')`)).rejects.toThrow(
        /model_versions_one_production/,
      );
    } finally {
      await c.end();
    }
  });
});
