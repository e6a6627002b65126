import { nextOccurrence, previousOccurrence } from './cron.util';

describe('previousOccurrence', () => {
  it('finds the last Sunday 03:00 before a moment', () => {
    // 2026-11-23 is a Monday.
    expect(previousOccurrence('0 3 * * 0', 'UTC', new Date('2026-11-23T12:00:00Z'))?.toISOString()).toBe('2026-11-22T03:00:00.000Z');
  });
  it('is strict: a moment exactly on the schedule belongs to the previous occurrence', () => {
    expect(previousOccurrence('0 3 * * 0', 'UTC', new Date('2026-11-22T03:00:00Z'))?.toISOString()).toBe('2026-11-15T03:00:00.000Z');
  });
  it('honours the time zone', () => {
    expect(previousOccurrence('0 2 * * 1', 'Europe/Berlin', new Date('2026-11-23T12:00:00Z'))?.toISOString()).toBe('2026-11-23T01:00:00.000Z');
  });
  it('knows seconds (six fields) and refuses a bad expression with a clear message', () => {
    expect(previousOccurrence('*/2 * * * * *', 'UTC', new Date('2026-11-22T03:00:01.500Z'))?.toISOString()).toBe('2026-11-22T03:00:00.000Z');
    expect(() => previousOccurrence('61 * * * *', 'UTC', new Date())).toThrow(/^invalid cron expression '61 \* \* \* \*'/);
  });
});

describe('nextOccurrence', () => {
  it('is strict as well', () => {
    expect(nextOccurrence('0 3 * * 0', 'UTC', new Date('2026-11-22T03:00:00Z')).toISOString()).toBe('2026-11-29T03:00:00.000Z');
  });
});
