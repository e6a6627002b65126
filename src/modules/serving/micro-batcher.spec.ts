import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  const recorder = () => {
    const runs: number[][] = [];
    const scoreMany = async (rows: number[]) => {
      runs.push([...rows]);
      return Float32Array.from(rows.map((r) => r / 100));
    };
    return { runs, scoreMany };
  };

  it('scores the rows requested in one event-loop turn in one run, each caller getting its own score', async () => {
    const { runs, scoreMany } = recorder();
    const batcher = new MicroBatcher(scoreMany, 32);
    const scores = await Promise.all([1, 2, 3, 4, 5].map((r) => batcher.score(r)));
    expect(runs).toEqual([[1, 2, 3, 4, 5]]);
    expect(scores.map((s) => Math.round(s * 100))).toEqual([1, 2, 3, 4, 5]);
  });

  it('does not hold a lone request back, and starts a new batch on the next turn', async () => {
    const { runs, scoreMany } = recorder();
    const batcher = new MicroBatcher(scoreMany, 32);
    await batcher.score(7);
    await batcher.score(8);
    expect(runs).toEqual([[7], [8]]);
  });

  it('flushes as soon as the batch is full', async () => {
    const { runs, scoreMany } = recorder();
    const batcher = new MicroBatcher(scoreMany, 3);
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((r) => batcher.score(r)));
    expect(runs).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('fails every caller of a failed run, and the next batch still works', async () => {
    let fail = true;
    const batcher = new MicroBatcher(async (rows: number[]) => {
      if (fail) throw new Error('session released');
      return Float32Array.from(rows);
    }, 32);
    const results = await Promise.allSettled([batcher.score(1), batcher.score(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.score(3)).toBe(3);
  });
});
