type QueryHandler = (sql: string, params: unknown[]) => unknown;

/**
 * A DataSource whose transactions run the callback with a manager over the same in-memory repositories (no isolation, no
 * rollback: fast tests check decisions, the integration tests check Postgres). Raw SQL goes to `onQuery` (default: no rows)
 * and is recorded in `queries`.
 */
export class FakeDataSource {
  readonly queries: { sql: string; params: unknown[] }[] = [];
  onQuery: QueryHandler = () => [];

  constructor(private readonly repositories: Map<unknown, unknown>) {}

  readonly manager = {
    getRepository: (entity: { name?: string }) => {
      const repo = this.repositories.get(entity);
      if (!repo) throw new Error(`the fake DataSource has no repository for ${entity.name ?? String(entity)}`);
      return repo;
    },
    query: (sql: string, params: unknown[] = []) => this.query(sql, params),
  };

  async query(sql: string, params: unknown[] = []): Promise<unknown> {
    this.queries.push({ sql, params });
    return this.onQuery(sql.replace(/\s+/g, ' ').trim(), params);
  }

  async transaction<R>(...args: unknown[]): Promise<R> {
    const work = args.find((a) => typeof a === 'function') as (manager: FakeDataSource['manager']) => Promise<R>;
    return work(this.manager);
  }
}
