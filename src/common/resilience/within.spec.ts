import { within } from './within';

describe('within: a bounded wait for work that cannot be cancelled', () => {
  it('gives up on work that never settles, saying how long it waited', async () => {
    await expect(within(20, () => new Promise(() => undefined))).rejects.toThrow('no answer within 20 ms');
  });

  it('passes an answer or an error through unchanged', async () => {
    await expect(within(1000, () => Promise.resolve(42))).resolves.toBe(42);
    await expect(within(1000, () => Promise.reject(new Error('connect ECONNREFUSED')))).rejects.toThrow('connect ECONNREFUSED');
  });
});
