import { PredictionWriter } from './prediction-writer';
import { classifyWriteError } from './write-error';

/** An in-memory stand-in for Postgres: refuses any batch holding a poisoned line, or is down. */
class FakeTable {
  rows: string[] = [];
  inserts = 0;
  down = false;
  /** Fail with "down" after this many more inserts. */
  downAfter = Infinity;

  query = async (_sql: string, [json]: unknown[]): Promise<void> => {
    this.inserts++;
    if (this.down || this.inserts > this.downAfter) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const lines = JSON.parse(json as string) as { id: string; poisoned?: boolean }[];
    if (lines.some((l) => l.poisoned)) throw Object.assign(new Error('unsupported Unicode escape sequence'), { driverError: { code: '22P05' } });
    this.rows.push(...lines.map((l) => l.id));
  };
}

const lines = (n: number, poisoned: number[] = []) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, ...(poisoned.includes(i) ? { poisoned: true } : {}) }));

describe('PredictionWriter', () => {
  it('writes a clean batch in one insert', async () => {
    const table = new FakeTable();
    const outcome = await new PredictionWriter(table.query, 1000).write(lines(2000));
    expect(outcome).toEqual({ written: 2000, rejected: [] });
    expect(table.inserts).toBe(1);
  });

  it('isolates each record Postgres refuses and writes every other one, in order', async () => {
    const table = new FakeTable();
    const outcome = await new PredictionWriter(table.query, 1000).write(lines(2000, [0, 777, 1999]));
    expect(outcome.written).toBe(1997);
    expect(outcome.rejected.map((r) => JSON.parse(r.line).id)).toEqual(['r0', 'r777', 'r1999']);
    expect(outcome.rejected[0]).toMatchObject({ sqlstate: '22P05', error: 'unsupported Unicode escape sequence' });
    expect(table.rows).toEqual(
      lines(2000)
        .map((l) => JSON.parse(l).id)
        .filter((id) => !['r0', 'r777', 'r1999'].includes(id)),
    );
    // A bisection, not one insert per row.
    expect(table.inserts).toBeLessThan(100);
  });

  it('stops when Postgres is unreachable and says which suffix was not written', async () => {
    const table = new FakeTable();
    // Refused: [0,8), [0,4), [0,2); then r0 is written, r1 refused alone, and Postgres goes away before [2,4).
    table.downAfter = 5;
    const outcome = await new PredictionWriter(table.query, 1000).write(lines(8, [1, 6]));
    expect(outcome.unavailable).toEqual({ error: expect.stringMatching(/ECONNREFUSED/), firstUnwritten: 2 });
    expect(outcome.written).toBe(1);
    expect(outcome.rejected.map((r) => JSON.parse(r.line).id)).toEqual(['r1']);
    expect(table.rows).toEqual(['r0']);
  });

  it('never quarantines anything while Postgres is down', async () => {
    const table = new FakeTable();
    table.down = true;
    const outcome = await new PredictionWriter(table.query, 1000).write(lines(10, [3]));
    expect(outcome).toEqual({ written: 0, rejected: [], unavailable: { error: expect.any(String), firstUnwritten: 0 } });
  });

  it('gives up at once past its deadline, and when an insert takes longer than its timeout', async () => {
    const table = new FakeTable();
    const writer = new PredictionWriter(table.query, 1000);
    expect((await writer.write(lines(3), Date.now() - 1)).unavailable).toEqual({ error: 'the shutdown deadline has passed', firstUnwritten: 0 });
    expect(table.inserts).toBe(0);
    const hanging = new PredictionWriter(() => new Promise(() => undefined), 10);
    expect((await hanging.write(lines(3))).unavailable).toEqual({ error: 'no answer within 10 ms', firstUnwritten: 0 });
  });
});

describe('classifyWriteError', () => {
  it.each([
    ['22P05', 'rejected'], // NUL in jsonb
    ['22003', 'rejected'], // numeric value out of range
    ['23502', 'rejected'], // not-null violation
    ['54001', 'rejected'], // nested too deep
    ['08006', 'unavailable'], // connection failure
    ['57P01', 'unavailable'], // admin shutdown
    ['53100', 'unavailable'], // disk full
    ['42P01', 'unavailable'], // table missing: a deployment problem, not the rows'
    ['40001', 'unavailable'],
  ])('%s is %s', (code, kind) => {
    expect(classifyWriteError(Object.assign(new Error('x'), { code }))).toBe(kind);
    expect(classifyWriteError(Object.assign(new Error('x'), { driverError: { code } }))).toBe(kind);
  });

  it('treats errors without a SQLSTATE (timeouts, sockets) as Postgres being unavailable', () => {
    expect(classifyWriteError(new Error('no answer within 5000 ms'))).toBe('unavailable');
    expect(classifyWriteError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('unavailable');
  });
});
