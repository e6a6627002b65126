import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeysService } from './api-keys.service';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

export const ADMIN_KEY_FILE = 'admin-api-key';

/**
 * Makes sure an administrator can get in: the key from BOOTSTRAP_ADMIN_API_KEY (a secret store) when
 * given; otherwise, in local mode on a database without keys, a new admin key printed once and saved
 * to <DATA_DIR>/admin-api-key (mode 0600).
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminKey');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.BOOTSTRAP_ADMIN_API_KEY) {
      await this.apiKeys.ensure(this.config.BOOTSTRAP_ADMIN_API_KEY, { name: 'bootstrap-admin', role: 'admin' });
      return;
    }
    if ((await this.apiKeys.count()) > 0) return;
    if (!this.config.localMode) {
      this.logger.warn('No API keys exist. Set BOOTSTRAP_ADMIN_API_KEY from your secret store, or run `npm run cli -- keys create --role admin`.');
      return;
    }
    const { key, record } = await this.apiKeys.create({ name: 'local-admin', role: 'admin' });
    const file = path.join(this.config.DATA_DIR, ADMIN_KEY_FILE);
    fs.mkdirSync(this.config.DATA_DIR, { recursive: true });
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    // Printed once, on purpose, so that a local user sees it; it is not retrievable later.
    process.stdout.write(`\nCreated admin API key ${record.id} (saved to ${file}, shown only once):\n  ${key}\n\n`);
  }
}
