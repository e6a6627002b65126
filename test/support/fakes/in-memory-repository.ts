import type { ObjectLiteral } from 'typeorm';

type Where<T> = Partial<Record<keyof T, unknown>>;

function matches<T extends ObjectLiteral>(row: T, where: Where<T> | Where<T>[] | undefined): boolean {
  if (!where) return true;
  if (Array.isArray(where)) return where.some((w) => matches(row, w));
  return Object.entries(where).every(([k, v]) => {
    const actual: unknown = row[k];
    if (v instanceof Date) return actual instanceof Date && actual.getTime() === v.getTime();
    return actual === v;
  });
}

/**
 * The part of a TypeORM `Repository` that services call, over an array: equality `where` (or a list of them), `order`
 * on one column, `take`. Rows are copied in and out, so a service cannot change stored state without saving it.
 */
export class InMemoryRepository<T extends ObjectLiteral> {
  readonly rows: T[] = [];
  private nextId = 1;

  /** `key`: the primary key columns (save() replaces the row with the same key); `generatedId`: a column to number 1, 2, …. */
  constructor(private readonly opts: { key: (keyof T)[]; generatedId?: keyof T }) {}

  create(values: Partial<T>): T {
    return { ...values } as T;
  }

  async save(entity: T): Promise<T> {
    const row = { ...entity };
    if (this.opts.generatedId && (row[this.opts.generatedId] === undefined || row[this.opts.generatedId] === null)) {
      (row as Record<keyof T, unknown>)[this.opts.generatedId] = String(this.nextId++);
    }
    const i = this.rows.findIndex((r) => this.opts.key.every((k) => r[k] === row[k]));
    if (i >= 0) this.rows[i] = row;
    else this.rows.push(row);
    return { ...row };
  }

  async insert(entities: T | T[]): Promise<void> {
    for (const e of Array.isArray(entities) ? entities : [entities]) {
      if (this.rows.some((r) => this.opts.key.every((k) => r[k] === e[k])))
        throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
      await this.save(e);
    }
  }

  async update(where: Where<T>, patch: Partial<T>): Promise<{ affected: number }> {
    let affected = 0;
    for (const r of this.rows) {
      if (!matches(r, where)) continue;
      Object.assign(r, patch);
      affected++;
    }
    return { affected };
  }

  async find(opts: { where?: Where<T> | Where<T>[]; order?: Partial<Record<keyof T, 'ASC' | 'DESC'>>; take?: number } = {}): Promise<T[]> {
    let out = this.rows.filter((r) => matches(r, opts.where)).map((r) => ({ ...r }));
    const [sortKey, direction] = (Object.entries(opts.order ?? {})[0] ?? []) as [keyof T | undefined, string | undefined];
    if (sortKey !== undefined) {
      const value = (r: T) => {
        const v: unknown = r[sortKey];
        return v instanceof Date ? v.getTime() : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as number);
      };
      out.sort((a, b) => (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : 0) * (direction === 'DESC' ? -1 : 1));
    }
    if (opts.take !== undefined) out = out.slice(0, opts.take);
    return out;
  }

  async findBy(where: Where<T> | Where<T>[]): Promise<T[]> {
    return this.find({ where });
  }

  async findOne(opts: { where?: Where<T> | Where<T>[]; order?: Partial<Record<keyof T, 'ASC' | 'DESC'>> }): Promise<T | null> {
    return (await this.find({ ...opts, take: 1 }))[0] ?? null;
  }

  async findOneBy(where: Where<T> | Where<T>[]): Promise<T | null> {
    return this.findOne({ where });
  }

  async findOneByOrFail(where: Where<T> | Where<T>[]): Promise<T> {
    const row = await this.findOneBy(where);
    if (!row) throw new Error(`no row matches ${JSON.stringify(where)}`);
    return row;
  }
}
