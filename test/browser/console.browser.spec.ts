import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, ConsoleMessage, Page } from 'playwright-core';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { Role } from '../../src/common/auth/roles';
import { promoteAndServe, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface Visit {
  page: Page;
  /** Uncaught page errors and console errors, minus the expected ones. */
  problems: string[];
}

/**
 * The operator console in real Chromium (the Debian package, driven by playwright-core) against the real
 * app, Postgres and MLflow, with a model in Production. Every page visited is screenshotted and scanned
 * with axe-core; any uncaught error or console error fails the test.
 */
describe('operator console in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  const keys: Partial<Record<Role, string>> = {};
  const screenshots: string[] = [];
  const axeResults: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) {
      throw new Error('The console is not built: run `npm run build:web` first (scripts/test.sh does).');
    }
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const env = testEnv();
    app = await startTestApp({ name: 'console_browser' });
    await promoteAndServe(app.url, env.modelName, env.trained[0].version);
    const service = app.app.get(ApiKeysService);
    for (const role of ['predict', 'operator', 'approver', 'admin'] as const) keys[role] = (await service.create({ name: `browser-${role}`, role })).key;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    console.log(
      `console browser suite: ${screenshots.length} screenshots in ${ARTIFACTS}\n  ${screenshots.map((s) => path.basename(s)).join('\n  ')}\naxe-core:\n  ${axeResults.join('\n  ')}`,
    );
  });

  async function open(context: BrowserContext, url: string): Promise<Visit> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() !== 'error') return;
      // The browser logs every non-2xx fetch. The signed-out probe (GET /api/v1/session → 401) and a refused
      // sign-in are expected answers the console handles; anything else is a failure.
      const from = msg.location().url ?? '';
      if (/status of 401/.test(msg.text()) && from.endsWith('/api/v1/session')) return;
      problems.push(`console: ${msg.text()} (${from})`);
    });
    await page.goto(url);
    return { page, problems };
  }

  async function check(visit: Visit, name: string): Promise<void> {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await visit.page.screenshot({ path: file, fullPage: true });
    screenshots.push(file);
    await visit.page.evaluate(AXE_SOURCE);
    const violations = await visit.page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string | null; nodes: unknown[] }[] }> } }).axe;
      const result = await axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    axeResults.push(
      `${name}: ${violations.length} violations (${serious.length} serious or critical)${violations.length ? ` ${JSON.stringify(violations)}` : ''}`,
    );
    expect(serious).toEqual([]);
    expect(visit.problems).toEqual([]);
  }

  async function signIn(context: BrowserContext, key: string): Promise<Visit> {
    const visit = await open(context, `${app.url}/console/`);
    await visit.page.getByLabel('API key').fill(key);
    await visit.page.getByRole('button', { name: 'Sign in' }).click();
    await visit.page.getByRole('button', { name: 'Sign out' }).waitFor();
    return visit;
  }

  it('shows the problem detail and what to do next for a wrong key, and keeps no key in browser storage', async () => {
    const context = await browser.newContext();
    const visit = await open(context, `${app.url}/console/`);
    await check(visit, '01-sign-in');
    await visit.page.getByLabel('API key').fill('chk_Wrong000_not-a-real-key-at-all-xxxxxxxx');
    await visit.page.getByRole('button', { name: 'Sign in' }).click();
    const alert = visit.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The API key is unknown, revoked or expired');
    expect(await alert.textContent()).toContain('Sign in again with a valid API key');
    await check(visit, '02-sign-in-wrong-key');
    await context.close();
  });

  it('signs in as predict: no console pages are offered', async () => {
    const context = await browser.newContext();
    const visit = await signIn(context, keys.predict!);
    expect(await visit.page.getByTestId('role').textContent()).toBe('predict');
    expect(await visit.page.getByRole('link', { name: 'Models and versions' }).count()).toBe(0);
    await visit.page.getByRole('heading', { name: 'Nothing to show for your role' }).waitFor();
    await check(visit, '03-predict-no-pages');
    await context.close();
  });

  for (const role of ['operator', 'approver'] as const) {
    it(`signs in as ${role}: models and versions with the chart and the diff; the admin-only stage override is disabled`, async () => {
      const context = await browser.newContext();
      const visit = await signIn(context, keys[role]!);
      await visit.page.getByRole('link', { name: 'Models and versions' }).waitFor();
      await visit.page.locator('[data-testid=metric-chart] .recharts-line-curve').waitFor();
      const setStage = visit.page.getByRole('button', { name: 'Set stage' });
      expect(await setStage.count()).toBeGreaterThanOrEqual(2);
      for (const button of await setStage.all()) expect(await button.isDisabled()).toBe(true);
      await check(visit, `04-models-${role}`);
      // The raw key is nowhere in the browser's storage, and the session cookie is not readable by script.
      const stored = await visit.page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie');
      expect(stored).not.toContain(keys[role]!.split('_').slice(2).join('_')); // the secret (base64url: it may hold '_' itself)
      expect(stored).not.toContain('churn_session');
      await context.close();
    });
  }

  it('shows the failure and what to do next, not an endless spinner, when the API does not answer', async () => {
    const context = await browser.newContext();
    const visit = await signIn(context, keys.operator!);
    // From now on the models list never answers: the console's request timeout (10 s) must end the wait.
    await visit.page.route('**/api/v1/models', () => undefined);
    await visit.page.reload();
    const alert = visit.page.getByRole('alert');
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toContain('did not answer within 10 s');
    expect(await alert.textContent()).toContain('Check that the service is running');
    expect(await visit.page.getByRole('button', { name: 'Retry' }).count()).toBe(1);
    await check(visit, '07-api-not-answering');
    await context.close();
  });

  it('signs in as admin: the stage override is offered; the chart and the diff render; logout ends the session', async () => {
    const context = await browser.newContext();
    const visit = await signIn(context, keys.admin!);
    await visit.page.locator('[data-testid=metric-chart] .recharts-line-curve').waitFor();
    const selects = visit.page.getByLabel(/New stage for version/);
    for (const select of await selects.all()) expect(await select.isDisabled()).toBe(false);
    const diff = visit.page.getByTestId('version-diff');
    expect(await diff.textContent()).toContain('metric roc_auc');
    await check(visit, '05-models-admin');

    // First load of the models page, cold cache: a new context signed in through the API (the cookie is set), then one navigation.
    const cold = await browser.newContext();
    expect((await cold.request.post(`${app.url}/api/v1/session`, { data: { api_key: keys.admin } })).status()).toBe(201);
    const measured = await cold.newPage();
    const transferred: Promise<number>[] = [];
    measured.on('requestfinished', (req) => transferred.push(req.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
    const t0 = Date.now();
    await measured.goto(`${app.url}/console/models`);
    await measured.locator('[data-testid=metric-chart] .recharts-line-curve').waitFor();
    const renderMs = Date.now() - t0;
    const paint = await measured.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
    await measured.waitForLoadState('networkidle');
    const sizes = await Promise.all(transferred);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    console.log(
      `console first load of the models page (cold cache): ${bytes} bytes transferred in ${sizes.length} requests; first contentful paint ${Math.round(paint)} ms; chart rendered ${renderMs} ms after navigation start`,
    );
    await cold.close();

    await visit.page.getByRole('button', { name: 'Sign out' }).click();
    await visit.page.getByLabel('API key').waitFor();
    const after = await context.request.get(`${app.url}/api/v1/session`);
    expect(after.status()).toBe(401);
    await check(visit, '06-signed-out');
    await context.close();
  });
});
