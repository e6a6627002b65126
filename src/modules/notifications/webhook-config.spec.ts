import { loadConfig } from '../../config/config';

describe('webhook configuration', () => {
  const secret = 'a-secret-of-16-chars+';

  it('parses a comma-separated list of http(s) URLs, trimmed and de-duplicated', () => {
    const c = loadConfig({
      WEBHOOK_URLS: ' https://crm.example.com/hooks/churn , http://cs:8080/w,https://crm.example.com/hooks/churn',
      WEBHOOK_SECRET: secret,
    });
    expect(c.WEBHOOK_URLS).toEqual(['https://crm.example.com/hooks/churn', 'http://cs:8080/w']);
    expect(c.WEBHOOK_MAX_ATTEMPTS).toBe(8);
    expect(c.WEBHOOK_TIMEOUT_MS).toBe(5000);
    expect(c.WEBHOOK_BACKOFF_BASE_MS).toBe(1000);
  });

  it('has no receivers and needs no secret by default', () => {
    const c = loadConfig({});
    expect(c.WEBHOOK_URLS).toBeUndefined();
    expect(c.WEBHOOK_SECRET).toBeUndefined();
  });

  it('refuses a URL that is not http(s), naming the variable', () => {
    expect(() => loadConfig({ WEBHOOK_URLS: 'https://ok.example.com,ftp://files.example.com', WEBHOOK_SECRET: secret })).toThrow(
      /WEBHOOK_URLS: not an http\(s\) URL: ftp:\/\/files.example.com/,
    );
    expect(() => loadConfig({ WEBHOOK_URLS: 'not a url', WEBHOOK_SECRET: secret })).toThrow(/WEBHOOK_URLS/);
  });

  it('requires a secret of 16+ characters when WEBHOOK_URLS is set', () => {
    expect(() => loadConfig({ WEBHOOK_URLS: 'https://crm.example.com/h' })).toThrow(/WEBHOOK_SECRET: is required when WEBHOOK_URLS is set/);
    expect(() => loadConfig({ WEBHOOK_URLS: 'https://crm.example.com/h', WEBHOOK_SECRET: 'short' })).toThrow(/WEBHOOK_SECRET/);
  });

  it('bounds WEBHOOK_MAX_ATTEMPTS to 1..50', () => {
    expect(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(/WEBHOOK_MAX_ATTEMPTS/);
    expect(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: '51' })).toThrow(/WEBHOOK_MAX_ATTEMPTS/);
    expect(loadConfig({ WEBHOOK_MAX_ATTEMPTS: '3' }).WEBHOOK_MAX_ATTEMPTS).toBe(3);
  });
});
