import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig } from './config';
import { configTable } from './config-table';

describe('loadConfig', () => {
  it('applies defaults and runs in local mode without DATABASE_URL', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.localMode).toBe(true);
    expect(c.BATCH_MAX_ROWS).toBe(1000);
    expect(path.isAbsolute(c.DATA_DIR)).toBe(true);
  });

  it('coerces numbers and leaves local mode when DATABASE_URL is set', () => {
    const c = loadConfig({ PORT: '8080', DATABASE_URL: 'postgresql://u:p@db:5432/churn' });
    expect(c.PORT).toBe(8080);
    expect(c.localMode).toBe(false);
  });

  it('refuses bad values and names each offending variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/DATABASE_URL: must be a postgres/);
  });

  it('refuses contradictory risk thresholds', () => {
    expect(() => loadConfig({ RISK_MEDIUM_THRESHOLD: '0.9', RISK_HIGH_THRESHOLD: '0.5' })).toThrow(/RISK_MEDIUM_THRESHOLD: must be below RISK_HIGH_THRESHOLD/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).localMode).toBe(true);
  });
});

describe('README configuration table', () => {
  it('matches the config schema (regenerate with `npm run docs:config`)', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(configTable());
  });
});
