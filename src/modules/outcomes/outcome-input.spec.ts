import { ValidationFailedError } from '../../common/errors/app-error';
import { parseInstant, parseMonth, parseOutcomes, parseWindow } from './outcome-input';
import { monthOf, previousMonth } from './outcome-reports.service';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationFailedError) return (err.errors ?? []).map((e) => e.field);
    throw err;
  }
  throw new Error('no error thrown');
}

describe('outcome input', () => {
  const now = new Date('2026-11-23T12:00:00Z');

  it('accepts dates and date-times with offset', () => {
    const rows = parseOutcomes(
      {
        outcomes: [
          { customer_id: 'C1', churned: true, observed_at: '2026-10-31' },
          { customer_id: 'C2', churned: false, observed_at: '2026-10-31T23:30:00+02:00' },
        ],
      },
      10,
      now,
    );
    expect(rows.map((r) => r.observed_at.toISOString())).toEqual(['2026-10-31T00:00:00.000Z', '2026-10-31T21:30:00.000Z']);
  });

  it('names each offending field as outcomes[i].field', () => {
    const body = {
      outcomes: [
        { customer_id: 'ok', churned: true, observed_at: '2026-10-01' },
        { churned: 'yes', observed_at: '2026-10-01' },
        'not an object',
        { customer_id: 'x'.repeat(129), churned: false, observed_at: '2026-11-25' },
      ],
    };
    expect(fieldsOf(() => parseOutcomes(body, 10, now))).toEqual([
      'outcomes[1].customer_id',
      'outcomes[1].churned',
      'outcomes[2]',
      'outcomes[3].customer_id',
      'outcomes[3].observed_at',
    ]);
    expect(fieldsOf(() => parseOutcomes({}, 10, now))).toEqual(['outcomes']);
    expect(fieldsOf(() => parseOutcomes({ outcomes: {} }, 10, now))).toEqual(['outcomes']);
    expect(fieldsOf(() => parseOutcomes(null, 10, now))).toEqual(['(body)']);
  });

  it('refuses more rows than the limit with 413', () => {
    const outcomes = Array.from({ length: 3 }, (_, i) => ({ customer_id: `C${i}`, churned: false, observed_at: '2026-10-01' }));
    expect(() => parseOutcomes({ outcomes }, 2, now)).toThrow(expect.objectContaining({ status: 413 }));
  });

  it('refuses dates that are not calendar dates, and date-times without an offset', () => {
    expect(parseInstant('2026-02-29')).toMatch(/not a calendar date/);
    expect(parseInstant('2028-02-29')).toEqual(new Date('2028-02-29T00:00:00Z'));
    expect(parseInstant('2026-10-15T08:00:00')).toMatch(/ISO 8601/);
    expect(parseInstant('2026-10-15T24:00:00Z')).toMatch(/out of range/);
    expect(parseInstant(20261015)).toMatch(/ISO 8601/);
  });

  it('parses windows and months', () => {
    expect(parseWindow('30d')).toBe(30 * 86_400_000);
    expect(parseWindow('24h')).toBe(86_400_000);
    expect(parseWindow('0d')).toBeUndefined();
    expect(parseWindow('30')).toBeUndefined();
    expect(parseWindow('9999d')).toBeUndefined();
    expect(parseMonth('2026-10')).toEqual({ year: 2026, month: 10 });
    expect(parseMonth('2026-13')).toBeUndefined();
    expect(previousMonth('2026-01')).toBe('2025-12');
    expect(previousMonth('2026-11')).toBe('2026-10');
    // 23:30 UTC on 30 November is already December in Berlin.
    expect(monthOf(new Date('2026-11-30T23:30:00Z'), 'Europe/Berlin')).toBe('2026-12');
    expect(monthOf(new Date('2026-11-30T23:30:00Z'), 'UTC')).toBe('2026-11');
  });
});
