import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CsvSource } from './csv-source';
import { SignatureInput } from '../../serving/model-signature';

const INPUTS: SignatureInput[] = [
  { name: 'age', type: 'integer', onnx_type: 'float32' },
  { name: 'contract', type: 'string', onnx_type: 'string', categories: ['Month-to-month', 'One year'] },
];

describe('CsvSource', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-source-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string | Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const allRows = async (source: CsvSource, chunkRows = 1000, chunks = 0): Promise<Record<string, unknown>[][]> => {
    const out: Record<string, unknown>[][] = [];
    for await (const chunk of source.chunks({ chunks, lastCustomerId: null }, chunkRows)) out.push(chunk.rows);
    return out;
  };

  it('reads a quoted cell holding newlines, commas and doubled quotes as one cell of one row', async () => {
    const file = write(
      'quoted.csv',
      'customer_id,notes,age,contract\n' +
        'C1,"called twice,\nasked about ""price""\n",41,Month-to-month\n' +
        'C2,plain,52,"One year"\n' +
        'C3,"multi\r\nline with CRLF",33,One year\n',
    );
    const source = new CsvSource(file, INPUTS);
    expect(await source.count()).toBe(3);
    expect(await allRows(source)).toEqual([
      [
        { customer_id: 'C1', age: 41, contract: 'Month-to-month' },
        { customer_id: 'C2', age: 52, contract: 'One year' },
        { customer_id: 'C3', age: 33, contract: 'One year' },
      ],
    ]);
    expect(await CsvSource.header(file)).toEqual(['customer_id', 'notes', 'age', 'contract']);
  });

  it('counts the same rows as it yields, with and without quotes, across blank lines, CRLF and a BOM', async () => {
    const body = 'customer_id,age,contract\r\n\r\nC1,41,One year\r\n   \r\nC2,52,One year\r\nC3,33,One year';
    for (const [name, text] of [
      ['plain.csv', body],
      ['bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)])],
      ['with-quote.csv', `${body}\r\n"C4",60,"One year"\r\n`],
    ] as const) {
      const source = new CsvSource(write(name, text), INPUTS);
      const rows = (await allRows(source)).flat();
      expect({ name, count: await source.count() }).toEqual({ name, count: rows.length });
      expect(rows[0]).toEqual({ customer_id: 'C1', age: 41, contract: 'One year' });
    }
  });

  it('keeps a malformed row as one record for the validator, and the rows after it unharmed', async () => {
    const file = write('ragged.csv', 'customer_id,age,contract\nC1,41\nC2,"4"2,One year,extra\nC3,ab"c,One year\nC4,44,One year\n');
    const source = new CsvSource(file, INPUTS);
    expect(await source.count()).toBe(4);
    expect((await allRows(source)).flat()).toEqual([
      { customer_id: 'C1', age: 41 }, // missing cell: absent, so the validator reports contract as required
      { customer_id: 'C2', age: '"4"2', contract: 'One year' }, // text after a closing quote: all kept as text, so age is named
      { customer_id: 'C3', age: 'ab"c', contract: 'One year' },
      { customer_id: 'C4', age: 44, contract: 'One year' },
    ]);
  });

  it('resumes after the committed chunks, counting records rather than lines', async () => {
    const lines = ['customer_id,notes,age,contract'];
    for (let i = 1; i <= 7; i++) lines.push(`C${i},"line one\nline two",${20 + i},One year`);
    const source = new CsvSource(write('resume.csv', `${lines.join('\n')}\n`), INPUTS);
    const resumed = await allRows(source, 3, 1);
    expect(resumed.map((c) => c.map((r) => r.customer_id))).toEqual([['C4', 'C5', 'C6'], ['C7']]);
  });

  it('fails before scoring anything on a quote that is never closed, naming the row and the line', async () => {
    const file = write('unclosed.csv', 'customer_id,age,contract\nC1,41,One year\nC2,"52,One year\nC3,33,One year\n');
    const source = new CsvSource(file, INPUTS);
    await expect(source.count()).rejects.toThrow(/quote that is never closed: data row 2 \(line 3\).*Close the quote/);
    await expect(allRows(source)).rejects.toThrow(/data row 2 \(line 3\)/);
  });

  it('names the missing columns of the header', async () => {
    const source = new CsvSource(write('no-contract.csv', 'customer_id,age\nC1,41\n'), INPUTS);
    await expect(allRows(source)).rejects.toThrow('the CSV header has no column contract');
    expect(await CsvSource.header(write('empty.csv', ''))).toEqual([]);
  });
});
