import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { stopGroup } from './processes';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__churnTest as { db: EmbeddedDatabase; mlflow: ChildProcess; tmpDir: string } | undefined;
  if (!state) return;
  await stopGroup(state.mlflow);
  await state.db.stop();
  if (process.env.KEEP_TEST_STATE !== 'true') fs.rmSync(state.tmpDir, { recursive: true, force: true });
}
