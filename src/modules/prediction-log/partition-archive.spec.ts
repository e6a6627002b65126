import { parse } from 'csv-parse/sync';
import { csvField } from './partition-archive';

describe('prediction archive CSV fields', () => {
  it('round-trips through a CSV parser: quotes, commas, line breaks, JSON; NULL is an empty field and "" an empty string', () => {
    const row = ['plain', 'with,comma', 'with "quote"', 'two\nlines', '{"tenure_months": 3, "contract": "Month-to-month"}', '', null];
    const line = `${row.map(csvField).join(',')}\n`;
    const [parsed] = parse(line, { relax_column_count: false }) as string[][];
    expect(parsed).toEqual(['plain', 'with,comma', 'with "quote"', 'two\nlines', '{"tenure_months": 3, "contract": "Month-to-month"}', '', '']);
    expect(line.endsWith(',""\n') || line.includes(',"",')).toBe(true);
    expect(line.endsWith(',\n')).toBe(true);
  });
});
