import { TaskCancelledError, timeout, TimeoutStrategy } from 'cockatiel';

/**
 * Waits for `work` at most `ms`, then rejects with "no answer within <ms> ms". For work that cannot be
 * cancelled (a query on a frozen server, a probe): the wait is cut short, the work is left to settle.
 */
export async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  try {
    return await timeout(ms, TimeoutStrategy.Aggressive).execute(work);
  } catch (err) {
    if (err instanceof TaskCancelledError) throw new Error(`no answer within ${ms} ms`);
    throw err;
  }
}
