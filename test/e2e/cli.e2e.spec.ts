import * as path from 'node:path';
import { run } from '../support/processes';
import { freshDatabase, http, startTestApp } from '../support/test-app';

const CLI = path.resolve(__dirname, '..', '..', 'dist/src/cli/main.js');

describe('npm run cli -- keys', () => {
  it('creates a key that works, lists it without its secret, and revokes it', async () => {
    const databaseUrl = await freshDatabase('cli');
    const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' } });

    const created = await cli('keys', 'create', '--role', 'operator', '--name', 'ci-bot', '--model', 'churn-model');
    const key = created.trim().split('\n').pop()!;
    expect(key).toMatch(/^chk_[A-Za-z0-9]{8}_/);
    const id = key.slice(4, 12);

    const listed = await cli('keys', 'list');
    expect(listed).toContain(`${id}  operator  active   ci-bot  model=churn-model`);
    expect(listed).not.toContain(key);

    const app = await startTestApp({ name: 'cli-a', databaseUrl });
    try {
      expect((await http('GET', `${app.url}/api/v1/models/churn-model/versions`, { key })).status).toBe(200);
      // The key is scoped to churn-model.
      expect((await http('GET', `${app.url}/api/v1/models/other-model/versions`, { key })).status).toBe(403);
    } finally {
      await app.close();
    }

    await cli('keys', 'revoke', id);
    expect(await cli('keys', 'list')).toContain(`${id}  operator  revoked`);
    const after = await startTestApp({ name: 'cli-b', databaseUrl });
    try {
      expect((await http('GET', `${after.url}/api/v1/models`, { key })).status).toBe(401);
    } finally {
      await after.close();
    }
    await expect(cli('keys', 'create', '--role', 'root')).rejects.toThrow(/--role must be one of: predict, operator, approver, admin/);
  });
});
