import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpillFile } from './spill-file';

const line = (i: number) => JSON.stringify({ id: `id-${i}`, request_id: `req-${i}` });

async function readAll(spill: SpillFile): Promise<string[]> {
  const out: string[] = [];
  for (const file of await spill.sealAndList()) for await (const batch of spill.read(file, 1000)) out.push(...batch);
  return out;
}

describe('SpillFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spill-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every line of a large backlog, in order, across its chunks', async () => {
    const spill = new SpillFile(dir);
    const lines = Array.from({ length: 5_500 }, (_, i) => line(i));
    await Promise.all([spill.append(lines.slice(0, 5_000)), spill.append(lines.slice(5_000))]);
    expect(await readAll(spill)).toEqual(lines);
  });

  it('tries again after a failed append instead of failing every later one', async () => {
    const spill = new SpillFile(dir);
    fs.rmSync(dir, { recursive: true });
    await expect(spill.append([line(1)])).rejects.toThrow(/ENOENT/);
    expect(await spill.probeWritable()).toMatch(/ENOENT/);
    fs.mkdirSync(dir);
    await spill.append([line(2)]);
    expect(await spill.probeWritable()).toBeNull();
    expect(await readAll(spill)).toEqual([line(2)]);
  });

  it('knows since when its oldest unreplayed record waits, until its file is removed', async () => {
    const spill = new SpillFile(dir);
    expect(spill.oldestPendingAt()).toBeNull();
    await spill.append([line(1)], 1_000);
    await spill.append([line(2)], 5_000);
    expect(spill.oldestPendingAt()).toBe(1_000);
    const [sealed] = await spill.sealAndList();
    await spill.append([line(3)], 9_000);
    expect(spill.oldestPendingAt()).toBe(1_000);
    await spill.remove(sealed);
    expect(spill.oldestPendingAt()).toBe(9_000);
  });

  it('counts the bytes of spill files only (not the dead-letter directory beside them)', async () => {
    const spill = new SpillFile(dir);
    await spill.append([line(1)]);
    fs.mkdirSync(path.join(dir, 'dead-letter'));
    fs.writeFileSync(path.join(dir, 'dead-letter', 'dead-letter-2026-01-01.jsonl'), 'x'.repeat(10_000));
    expect(await spill.pendingBytes()).toBe(line(1).length + 1);
  });

  it('treats files left by an earlier run as pending since their last write', async () => {
    fs.writeFileSync(path.join(dir, 'sealed-1-1.jsonl'), `${line(1)}\n`);
    const mtime = fs.statSync(path.join(dir, 'sealed-1-1.jsonl')).mtimeMs;
    expect(new SpillFile(dir).oldestPendingAt()).toBe(mtime);
  });
});
