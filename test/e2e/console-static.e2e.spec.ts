import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

describe('the operator console bundle at /console', () => {
  let built: TestApp;
  let missing: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = path.join(testEnv().tmpDir, `console-dist-${process.pid}`);
    fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'index.html'),
      '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>',
    );
    fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("app")');
    built = await startTestApp({ name: 'console_static', env: { CONSOLE_DIR: dir } });
    missing = await startTestApp({ name: 'console_missing', databaseUrl: built.databaseUrl, env: { CONSOLE_DIR: path.join(dir, 'nowhere') } });
  });
  afterAll(async () => {
    await missing?.close();
    await built?.close();
  });

  it('serves index.html for /console and client-side routes, revalidated, with a strict CSP and no framing', async () => {
    for (const p of ['/console', '/console/', '/console/models', '/console/models/churn-model/versions']) {
      const res = await fetch(`${built.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('<title>console</title>');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('caches hashed assets for good, answers 404 problem+json for a missing asset, and never leaves the directory', async () => {
    const asset = await fetch(`${built.url}/console/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const gone = await fetch(`${built.url}/console/assets/index-old999.js`);
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toContain('application/problem+json');

    const escape = await fetch(`${built.url}/console/..%2f..%2fpackage.json`);
    expect(escape.status).not.toBe(200);
  });

  it('answers 503 problem+json telling to run npm run build:web when the console is not built', async () => {
    const res = await fetch(`${missing.url}/console/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { detail: string };
    expect(body.detail).toContain('npm run build:web');
  });

  it('needs no API key: the bundle holds no data', async () => {
    expect((await fetch(`${built.url}/console/models`)).status).toBe(200);
    expect((await fetch(`${built.url}/api/v1/models`)).status).toBe(401);
  });
});
