import * as fs from 'node:fs';

/** Shuffles one CSV column in place with a seeded permutation (labels no longer relate to features). */
export function shuffleColumn(file: string, column: string, seed: number): void {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const header = lines[0].split(',');
  const col = header.indexOf(column);
  if (col < 0) throw new Error(`${file} has no column ${column}`);
  const rows = lines.slice(1).map((l) => l.split(','));
  const values = rows.map((r) => r[col]);
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  rows.forEach((r, i) => (r[col] = values[i]));
  fs.writeFileSync(file, `${[lines[0], ...rows.map((r) => r.join(','))].join('\n')}\n`);
}
