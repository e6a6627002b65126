/** Characters that make a spreadsheet read a cell as a formula (CSV injection; OWASP also lists tab and carriage return). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): a text cell that a spreadsheet would run as a formula is prefixed with a
 * quote mark, and a cell holding a comma, quote or line break is quoted with its quotes doubled.
 * Numbers are written as they are (a negative number is data, not a formula).
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV record, CRLF-terminated as RFC 4180 asks. */
export function csvRow(cells: (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
