import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/config';
import { runMigrations } from '../../src/database/migrations';
import { testEnv } from './test-env';
import type { Json } from './json';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  adminKey: string;
  databaseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export const ADMIN_KEY = `chk_TestAdm1_${randomBytes(24).toString('base64url')}`;
/** AUDIT_HMAC_KEY of every test app that uses DATABASE_URL (required there). */
export const AUDIT_TEST_KEY = 'system-test-audit-hmac-key-0123456789abcdef';

/** A fresh database on the shared test Postgres, migrated. */
export async function freshDatabase(name: string): Promise<string> {
  const env = testEnv();
  const admin = new Client({ connectionString: env.databaseUrl });
  await admin.connect();
  const db = `${name}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const url = new URL(env.databaseUrl);
  url.pathname = `/${db}`;
  return url.toString();
}

/** Starts the real application in-process on a random port, against real Postgres and MLflow. */
export async function startTestApp(opts: { name: string; databaseUrl?: string; env?: Record<string, string> }): Promise<TestApp> {
  const env = testEnv();
  const databaseUrl = opts.databaseUrl ?? (await freshDatabase(opts.name));
  await runMigrations(databaseUrl);
  const dataDir = path.join(env.tmpDir, `app-${opts.name}-${randomBytes(3).toString('hex')}`);
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    MLFLOW_TRACKING_URI: env.mlflowUri,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    HOST: '127.0.0.1',
    MODEL_POLL_INTERVAL_MS: '2000',
    MLFLOW_MAX_RETRIES: '1',
    MLFLOW_TIMEOUT_MS: '5000',
    BOOTSTRAP_ADMIN_API_KEY: ADMIN_KEY,
    RATE_LIMIT_PER_MINUTE: '1000000',
    PII_HASH_KEY: 'system-test-pii-hash-key',
    AUDIT_HMAC_KEY: AUDIT_TEST_KEY,
    ...opts.env,
  });
  const app = await createApp(config, databaseUrl);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, adminKey: ADMIN_KEY, databaseUrl, dataDir, close: () => app.close() };
}

export interface HttpResult<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

/** JSON over real HTTP. */
export async function http<T = Json>(method: string, url: string, opts: { key?: string; body?: unknown; raw?: string } = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = {};
  if (opts.key) headers['x-api-key'] = opts.key;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** Polls until `check` returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sampleCustomer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customer_id: 'CUST12345',
    age: 42,
    tenure_months: 3,
    monthly_charges: 89.99,
    total_charges: 269.97,
    support_calls: 5,
    internet_service: 'Fiber',
    contract: 'Month-to-month',
    payment_method: 'Electronic check',
    ...overrides,
  };
}

/** `clients` concurrent loops, each calling `iteration(client, n)` again and again until stop(), which resolves once every loop has returned. */
export function clientLoops(clients: number, iteration: (client: number, n: number) => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; !stopped; n++) await iteration(client, n);
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Skewed traffic for drift: new, expensive fiber customers on month-to-month contracts. */
export function skewedCustomers(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const tenure = i % 3;
    const monthly = 110 + (i % 9);
    return {
      customer_id: `SKEW${i}`,
      age: 20 + (i % 15),
      tenure_months: tenure,
      monthly_charges: monthly,
      total_charges: monthly * tenure,
      support_calls: 4 + (i % 5),
      internet_service: 'Fiber',
      contract: 'Month-to-month',
      payment_method: 'Electronic check',
    };
  });
}

/** Puts a version in Production through the admin override and waits until the app serves it. */
export async function promoteAndServe(url: string, modelName: string, version: string): Promise<void> {
  const res = await http('POST', `${url}/api/v1/models/${modelName}/versions/${version}/stage`, { key: ADMIN_KEY, body: { stage: 'Production' } });
  if (res.status !== 200) throw new Error(`promoting ${modelName} v${version} answered ${res.status}: ${JSON.stringify(res.body)}`);
  await eventually(async () => (await http('GET', `${url}/health`)).body.model_version === version, 30_000, `v${version} to be served at ${url}`);
}
