import { Client } from 'pg';
import { logDestination } from '../../src/common/logging/logging.module';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { startTestApp, TestApp } from '../support/test-app';
import type { Json } from '../support/json';

interface Res {
  status: number;
  headers: Headers;
  body: Json;
}

async function call(method: string, url: string, opts: { cookie?: string; csrf?: string; key?: string; body?: unknown } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  if (opts.key) headers['x-api-key'] = opts.key;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Json };
}

const cookieOf = (res: Res) => /^churn_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';

describe('operator console sessions: an API key exchanged for an HttpOnly cookie with CSRF protection', () => {
  let app: TestApp;
  let keys: ApiKeysService;
  const signIn = async (key: string) => {
    const res = await call('POST', `${app.url}/api/v1/session`, { body: { api_key: key } });
    expect(res.status).toBe(201);
    return { res, cookie: `churn_session=${cookieOf(res)}`, csrf: (res.body as { csrf_token: string }).csrf_token };
  };
  const newKey = async (role: 'predict' | 'operator' | 'approver' | 'admin', expiresAt: Date | null = null) =>
    keys.create({ name: `console-${role}`, role, expiresAt });

  beforeAll(async () => {
    app = await startTestApp({ name: 'console_session', env: { CONSOLE_SESSION_TTL_S: '120', CONSOLE_SIGNIN_FAILURES_PER_MINUTE: '3', LOG_LEVEL: 'info' } });
    keys = app.app.get(ApiKeysService);
  });
  afterAll(async () => app?.close());

  it('signs in with a key: an HttpOnly SameSite=Strict cookie, Secure outside local mode, with the role and a CSRF token; only a hash is stored', async () => {
    const { key, record } = await newKey('operator');
    const { res, cookie, csrf } = await signIn(key);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^churn_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=120; Secure$/);
    expect(res.body).toEqual({ key_id: record.id, role: 'operator', model_name: null, expires_at: expect.any(String), csrf_token: csrf });
    expect(JSON.stringify(res.body)).not.toContain(key.split('_')[2]);
    const expires = Date.parse((res.body as { expires_at: string }).expires_at);
    expect(expires - Date.now()).toBeGreaterThan(100_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(120_000);

    const again = await call('GET', `${app.url}/api/v1/session`, { cookie });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);

    const db = new Client({ connectionString: app.databaseUrl });
    await db.connect();
    const rows = (await db.query('SELECT id_hash, key_id FROM console_sessions WHERE key_id = $1', [record.id])).rows as { id_hash: string }[];
    await db.end();
    expect(rows).toHaveLength(1);
    const sessionId = cookie.split('=')[1];
    expect(rows[0].id_hash).not.toContain(sessionId);
    expect(rows[0].id_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts the cookie on every API route, and refuses a mutation without the matching X-CSRF-Token (403 naming the header)', async () => {
    const { key } = await newKey('admin');
    const { cookie, csrf } = await signIn(key);
    expect((await call('GET', `${app.url}/api/v1/api-keys`, { cookie })).status).toBe(200);

    const body = { name: 'made-in-console', role: 'predict' };
    const missing = await call('POST', `${app.url}/api/v1/api-keys`, { cookie, body });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((missing.body as { detail: string }).detail).toContain('X-CSRF-Token');
    const wrong = await call('POST', `${app.url}/api/v1/api-keys`, { cookie, csrf: `${csrf.slice(0, -1)}A`, body });
    expect(wrong.status).toBe(403);

    const ok = await call('POST', `${app.url}/api/v1/api-keys`, { cookie, csrf, body });
    expect(ok.status).toBe(201);
    // X-API-Key callers are unchanged: no CSRF token needed.
    expect((await call('POST', `${app.url}/api/v1/api-keys`, { key, body })).status).toBe(201);
  });

  it('keeps role enforcement on the server for cookie callers', async () => {
    const { key } = await newKey('operator');
    const { cookie, csrf } = await signIn(key);
    const res = await call('POST', `${app.url}/api/v1/api-keys`, { cookie, csrf, body: { name: 'x', role: 'admin' } });
    expect(res.status).toBe(403);
    expect((res.body as { detail: string }).detail).toContain("role 'operator'");
  });

  it('signs out: 204, the row deleted, the cookie cleared, the session refused afterwards; sign-in and sign-out are audited', async () => {
    const { key, record } = await newKey('approver');
    const { cookie, csrf } = await signIn(key);
    expect((await call('DELETE', `${app.url}/api/v1/session`, { cookie })).status).toBe(403);
    const out = await call('DELETE', `${app.url}/api/v1/session`, { cookie, csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^churn_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/);
    expect((await call('GET', `${app.url}/api/v1/session`, { cookie })).status).toBe(401);
    expect((await call('GET', `${app.url}/api/v1/models`, { cookie })).status).toBe(401);

    const audit = await call('GET', `${app.url}/api/v1/audit?actor=${record.id}`, { key: app.adminKey });
    const actions = (audit.body as { entries: { action: string }[] }).entries.map((e) => e.action);
    expect(actions).toEqual(['console.signed_out', 'console.signed_in']);
  });

  it('ends the session when it expires, and when its key is revoked or expires', async () => {
    const db = new Client({ connectionString: app.databaseUrl });
    await db.connect();
    try {
      const expiring = await newKey('operator');
      const a = await signIn(expiring.key);
      await db.query(`UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE key_id = $1`, [expiring.record.id]);
      expect((await call('GET', `${app.url}/api/v1/session`, { cookie: a.cookie })).status).toBe(401);
      expect((await call('GET', `${app.url}/api/v1/training/runs`, { cookie: a.cookie })).status).toBe(401);

      const revoked = await newKey('operator');
      const b = await signIn(revoked.key);
      expect((await call('GET', `${app.url}/api/v1/training/runs`, { cookie: b.cookie })).status).toBe(200);
      expect((await call('DELETE', `${app.url}/api/v1/api-keys/${revoked.record.id}`, { key: app.adminKey })).status).toBe(200);
      const after = await call('GET', `${app.url}/api/v1/training/runs`, { cookie: b.cookie });
      expect(after.status).toBe(401);
      expect((after.body as { detail: string }).detail).toContain('Sign in again');

      // A key that expires before the TTL caps the session at the key's expiry.
      const shortKey = await newKey('operator', new Date(Date.now() + 30_000));
      const c = await signIn(shortKey.key);
      expect(Date.parse((c.res.body as { expires_at: string }).expires_at)).toBeLessThanOrEqual(shortKey.record.expiresAt!.getTime());
    } finally {
      await db.end();
    }
  });

  it('writes no key material and no session id to the logs', async () => {
    const { key } = await newKey('operator');
    const { cookie } = await signIn(key);
    await call('GET', `${app.url}/api/v1/models`, { cookie });
    await call('POST', `${app.url}/api/v1/session`, { body: { api_key: 'chk_Nope0000_yyyyyyyyyyyyyyyyyyyyyyyyyyyyy' } });
    const logs = readLogs();
    expect(logs).toContain('/api/v1/session');
    expect(logs).not.toContain(key.split('_')[2]);
    expect(logs).not.toContain(cookie.split('=')[1]);
  });
  it('refuses a wrong key with 401 problem+json and rate-limits failed sign-ins per client IP (429 with Retry-After)', async () => {
    // CONSOLE_SIGNIN_FAILURES_PER_MINUTE is 3 here; a window is a calendar minute, so within 7 failures a 429 comes even across a boundary.
    const statuses: number[] = [];
    let last: Res | undefined;
    for (let i = 0; i < 7 && last?.status !== 429; i++) {
      last = await call('POST', `${app.url}/api/v1/session`, { body: { api_key: `chk_Wrong${i}00_${'x'.repeat(40)}` } });
      statuses.push(last.status);
    }
    expect(statuses[0]).toBe(401);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('content-type')).toContain('application/problem+json');
    // While blocked, even a valid key is refused: the limit is on the address, not on the key tried.
    const { key } = await newKey('operator');
    expect((await call('POST', `${app.url}/api/v1/session`, { body: { api_key: key } })).status).toBe(429);
  });
});

/** What the app wrote to its log stream (stdout) since the spec was loaded. */
function readLogs(): string {
  return capturedLogs.join('');
}

const capturedLogs: string[] = [];
const originalWrite = logDestination.write.bind(logDestination);
logDestination.write = (chunk: string) => {
  capturedLogs.push(chunk);
  return originalWrite(chunk);
};
