import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { STAGE_CHANNEL } from '../registry/registry.service';
import { CANARY_CHANNEL, CanaryService } from './canary/canary.service';
import { ModelLoaderService } from './model-loader.service';

const RECONNECT_MAX_MS = 10_000;

/**
 * LISTENs for stage and canary changes committed by any replica and refreshes the served model
 * and the attached challenger at once.
 * The loader's periodic poll remains the fallback; after a reconnect we refresh in case a
 * notification was missed while disconnected.
 */
@Injectable()
export class StageChangeListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(StageChangeListener.name);
  private client?: Client;
  private stopped = false;
  private attempt = 0;
  private readonly retired = new WeakSet<Client>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly loader: ModelLoaderService,
    private readonly canaries: CanaryService,
  ) {}

  onApplicationBootstrap(): void {
    void this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: (this.db.options as { url: string }).url, keepAlive: true });
    client.on('error', (err) => {
      this.logger.warn(`stage-change listener lost its connection: ${err.message}`);
      this.retry(client);
    });
    client.on('end', () => this.retry(client));
    client.on('notification', (msg) => {
      if (msg.channel === CANARY_CHANNEL) return void this.canaries.refresh();
      if (msg.channel !== STAGE_CHANNEL) return;
      try {
        const change = JSON.parse(msg.payload ?? '{}') as { modelName?: string; from?: string; to?: string };
        if (change.modelName === this.loader.modelName && (change.to === 'Production' || change.from === 'Production')) {
          void this.loader.refresh('notify');
          void this.canaries.refresh(); // a challenger promoted to Production ends its canary
        }
      } catch {
        void this.loader.refresh('notify');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${STAGE_CHANNEL}`);
      await client.query(`LISTEN ${CANARY_CHANNEL}`);
      this.client = client;
      if (this.attempt > 0) {
        void this.loader.refresh('reconnect');
        void this.canaries.refresh();
      }
      this.attempt = 0;
    } catch (err) {
      this.logger.warn(`stage-change listener could not connect: ${(err as Error).message}`);
      this.retry(client);
    }
  }

  private retry(client: Client): void {
    // 'error' and 'end' both fire for one broken connection: reconnect once.
    if (this.stopped || this.retired.has(client)) return;
    this.retired.add(client);
    if (this.client === client) this.client = undefined;
    client.removeAllListeners();
    client.end().catch(() => undefined);
    const delay = Math.min(RECONNECT_MAX_MS, 250 * 2 ** this.attempt++);
    setTimeout(() => void this.connect(), delay).unref();
  }
}
