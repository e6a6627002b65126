import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PredictionRecord } from 'src/modules/prediction-log/prediction-record';
import { SpillFile } from 'src/modules/prediction-log/spill-file';

const record = (i: number): PredictionRecord => ({
  predicted_at: new Date(1_700_000_000_000 + i).toISOString(),
  request_id: `req-${i}`,
  row_index: 0,
  customer_hash: 'a'.repeat(64),
  model_name: 'churn-model',
  model_version: '1',
  features: { age: 40 },
  churn_probability: 0.5,
  risk_level: 'medium',
  latency_ms: 0.1,
});

async function readAll(spill: SpillFile): Promise<PredictionRecord[]> {
  const out: PredictionRecord[] = [];
  for (const file of await spill.sealAndList()) for await (const batch of spill.read(file, 1000)) out.push(...batch);
  return out;
}

describe('SpillFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spill-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every record of a large backlog, in order, across its chunks', async () => {
    const spill = new SpillFile(dir);
    const records = Array.from({ length: 5_500 }, (_, i) => record(i));
    await Promise.all([spill.append(records.slice(0, 5_000)), spill.append(records.slice(5_000))]);
    expect((await readAll(spill)).map((r) => r.request_id)).toEqual(records.map((r) => r.request_id));
  });

  it('tries again after a failed append instead of failing every later one', async () => {
    const spill = new SpillFile(dir);
    fs.rmSync(dir, { recursive: true });
    await expect(spill.append([record(1)])).rejects.toThrow(/ENOENT/);
    fs.mkdirSync(dir);
    await spill.append([record(2)]);
    expect((await readAll(spill)).map((r) => r.request_id)).toEqual(['req-2']);
  });
});
