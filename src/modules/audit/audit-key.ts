import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

/** <DATA_DIR>/audit-hmac-key (mode 0600): the local mode's generated AUDIT_HMAC_KEY. */
export const AUDIT_KEY_FILE = 'audit-hmac-key';
export const AUDIT_HMAC_KEY = Symbol('AUDIT_HMAC_KEY');

/**
 * The key of the audit chain's HMAC. From AUDIT_HMAC_KEY (a secret store) when set; in local mode,
 * generated once per data directory. With DATABASE_URL and no key the service refuses to start: each
 * replica would otherwise key its entries with a throwaway key of its own, and every other replica (and
 * the next pod) would report them as forged, so the trail could never be verified again.
 */
export function loadAuditKey(config: Pick<AppConfig, 'AUDIT_HMAC_KEY' | 'DATA_DIR' | 'localMode'>): Buffer {
  if (config.AUDIT_HMAC_KEY) return Buffer.from(config.AUDIT_HMAC_KEY, 'utf8');
  if (!config.localMode) throw missingAuditKey();
  const file = path.join(config.DATA_DIR, AUDIT_KEY_FILE);
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'utf8');
  const key = randomBytes(32).toString('base64url');
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  try {
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process of this data directory (the CLI, the service) wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'utf8');
    throw err;
  }
  return Buffer.from(key, 'utf8');
}

export function missingAuditKey(): ConfigError {
  return new ConfigError([
    'AUDIT_HMAC_KEY: is required when DATABASE_URL is set. It keys the audit chain, so every replica must share it and the database must not hold it: ' +
      'generate one (e.g. `openssl rand -base64 48`), keep it in your secret store, and keep it as long as the audit log (entries keyed with a lost key can no longer be verified).',
  ]);
}
