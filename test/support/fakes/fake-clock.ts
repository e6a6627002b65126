/**
 * An explicit clock for fast tests: Date.now(), new Date() and timers are jest's fake ones, moved only by advance().
 * Promise jobs, process.nextTick and setImmediate stay real, so awaited work still runs.
 */
export class FakeClock {
  constructor(start = new Date('2026-12-04T10:00:00Z')) {
    jest.useFakeTimers({ now: start, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  }

  now(): number {
    return Date.now();
  }

  /** Moves time forward, firing the timers that fall due. */
  advance(ms: number): void {
    jest.advanceTimersByTime(ms);
  }

  restore(): void {
    jest.useRealTimers();
  }
}
