import { InjectionToken, LoggerService, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken, getRepositoryToken } from '@nestjs/typeorm';
import { APP_CONFIG, loadConfig } from '../../src/config/config';
import { AppConfig } from '../../src/config/config.schema';
import { FakeDataSource } from './fakes/fake-data-source';
import { FakeMetric } from './fakes/fake-metric';

export interface TestServiceOptions {
  /** Config values on top of the defaults of an empty environment. */
  config?: Partial<AppConfig>;
  /** Entities whose repositories are in memory (InMemoryRepository, shared with the fake DataSource's transactions). */
  repositories?: [Type<unknown>, object][];
  /** Other dependencies by injection token: a fake, or a real collaborator built beforehand. */
  provide?: [InjectionToken, unknown][];
  /** Further classes built by Nest with the same fakes (e.g. a real collaborator of the service under test). */
  alsoBuild?: Type<unknown>[];
}

export interface TestService<T> {
  sut: T;
  config: AppConfig;
  db: FakeDataSource;
  /** A metric the service injected with @InjectMetric(name), as a FakeMetric. */
  metric(name: string): FakeMetric;
  /** Another class built in the same module (from `alsoBuild`). */
  get<U>(type: Type<U>): U;
}

/** A failing expectation says what went wrong; the services' logs would only bury it. */
const silent: LoggerService = { log: () => undefined, error: () => undefined, warn: () => undefined, debug: () => undefined, verbose: () => undefined };

const LIFECYCLE = new Set(['then', 'onModuleInit', 'onModuleDestroy', 'onApplicationBootstrap', 'onApplicationShutdown', 'beforeApplicationShutdown']);

/** A dependency no test faked: any call fails loudly, naming it, instead of passing silently. */
function unfaked(name: string): unknown {
  return new Proxy(
    {},
    {
      get: (_, prop) => {
        if (typeof prop === 'symbol' || LIFECYCLE.has(prop)) return undefined;
        return () => {
          throw new Error(`${name}.${prop}() was called, but this test did not fake ${name}; pass a fake through newTestService(…, { provide })`);
        };
      },
    },
  );
}

/**
 * Builds a service with Nest's injector and every dependency replaced (the immich `newTestService` pattern): config from
 * defaults plus overrides, in-memory repositories behind a fake DataSource, fake metrics, the fakes given in `provide`,
 * and a loud stand-in for anything else. Lifecycle hooks (timers, LISTEN) are not run.
 */
export async function newTestService<T>(service: Type<T>, opts: TestServiceOptions = {}): Promise<TestService<T>> {
  const config = Object.freeze({ ...loadConfig({ DATA_DIR: '/nonexistent/fast-tests', LOG_LEVEL: 'silent' }), ...opts.config }) as AppConfig;
  const repositories = new Map(opts.repositories ?? []);
  const db = new FakeDataSource(repositories);
  const metrics = new Map<string, FakeMetric>();
  const module = await Test.createTestingModule({
    providers: [
      service,
      ...(opts.alsoBuild ?? []),
      { provide: APP_CONFIG, useValue: config },
      { provide: getDataSourceToken(), useValue: db },
      ...[...repositories].map(([entity, repo]) => ({ provide: getRepositoryToken(entity), useValue: repo })),
      ...(opts.provide ?? []).map(([provide, useValue]) => ({ provide, useValue })),
    ],
  })
    .setLogger(silent)
    .useMocker((token) => {
      if (typeof token === 'string' && token.startsWith('PROM_METRIC_')) {
        const metric = new FakeMetric();
        metrics.set(token, metric);
        return metric;
      }
      return unfaked(typeof token === 'function' ? token.name : String(token));
    })
    .compile({ snapshot: false });
  return {
    sut: module.get(service),
    config,
    db,
    metric: (name) => {
      const metric = metrics.get(`PROM_METRIC_${name.toUpperCase()}`);
      if (!metric) throw new Error(`${service.name} did not inject the metric ${name}`);
      return metric;
    },
    get: (type) => module.get(type),
  };
}
