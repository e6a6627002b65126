import * as path from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';

/**
 * The single TypeORM configuration, used by the app and by the migrations CLI. Schema changes happen
 * only through migrations/ (never synchronize).
 */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  const root = path.resolve(__dirname, '..', '..');
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    entities: [path.join(root, 'src', '**', '*.entity.{ts,js}')],
    migrations: [path.join(root, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'schema_migrations',
    extra: { max: poolSize, connectionTimeoutMillis: 5000 },
    logging: ['error'],
  };
}

export function createDataSource(url: string, poolSize?: number): DataSource {
  return new DataSource(dataSourceOptions(url, poolSize));
}
