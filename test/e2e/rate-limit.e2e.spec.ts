import { http, startTestApp, TestApp } from '../support/test-app';

describe('rate limiting per API key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ name: 'ratelimit', env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with Retry-After past the limit, per key, and honours a key of its own limit', async () => {
    const created = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: 'limited', role: 'operator' } });
    const roomy = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: 'roomy', role: 'operator', rate_limit_per_minute: 50 } });
    expect(roomy.body.rate_limit_per_minute).toBe(50);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await http('GET', `${t.url}/api/v1/models`, { key: created.body.key });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last!.body.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 10; i++) expect((await http('GET', `${t.url}/api/v1/models`, { key: roomy.body.key })).status).toBe(200);
    expect((await http('GET', `${t.url}/health`)).status).not.toBe(429); // open endpoints are not limited
  });
});
