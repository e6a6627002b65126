import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeadLetterFile } from './dead-letter-file';

describe('DeadLetterFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dead-letter-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps each quarantined record verbatim with its reason and error, one file per UTC day', async () => {
    const letters = new DeadLetterFile(path.join(dir, 'dead-letter'));
    const poisoned = '{"id":"1","features":{"note":"a\\u0000b"}}';
    await letters.append(
      [{ reason: 'rejected_by_postgres', error: 'unsupported Unicode escape sequence', sqlstate: '22P05', source: 'queue', line: poisoned }],
      new Date('2026-12-01T23:59:00Z'),
    );
    await letters.append(
      [{ reason: 'unparseable_spill_line', error: 'not JSON', source: 'sealed-1-1.jsonl', line: '{"id":' }],
      new Date('2026-12-02T00:01:00Z'),
    );
    expect(fs.readdirSync(path.join(dir, 'dead-letter')).sort()).toEqual(['dead-letter-2026-12-01.jsonl', 'dead-letter-2026-12-02.jsonl']);
    expect(await letters.readAll()).toEqual([
      {
        quarantined_at: '2026-12-01T23:59:00.000Z',
        reason: 'rejected_by_postgres',
        error: 'unsupported Unicode escape sequence',
        sqlstate: '22P05',
        source: 'queue',
        line: poisoned,
      },
      { quarantined_at: '2026-12-02T00:01:00.000Z', reason: 'unparseable_spill_line', error: 'not JSON', source: 'sealed-1-1.jsonl', line: '{"id":' },
    ]);
  });

  it('tries again after a failed append instead of failing every later one', async () => {
    const blocker = path.join(dir, 'dead-letter');
    fs.writeFileSync(blocker, 'a file where the directory should be');
    const letters = new DeadLetterFile(blocker);
    const letter = { reason: 'unserialisable' as const, error: 'too deep', source: 'queue', summary: { id: '1' } };
    await expect(letters.append([letter])).rejects.toThrow(/EEXIST|ENOTDIR/);
    fs.rmSync(blocker);
    await letters.append([letter]);
    expect((await letters.readAll()).map((l) => l.summary)).toEqual([{ id: '1' }]);
  });
});
