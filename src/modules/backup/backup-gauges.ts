import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { GAUGE_REFRESH_MS } from './backup.metrics';
import { BackupService } from './backup.service';
import { RestoreDrillService } from './restore-drill.service';

/**
 * Keeps the backup and drill gauges fresh from their tables, so that every replica exports the newest
 * backup and drill whichever replica ran them.
 */
@Injectable()
export class BackupGauges implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly backups: BackupService,
    private readonly drills: RestoreDrillService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), GAUGE_REFRESH_MS);
    this.timer.unref();
    await this.refresh();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    await Promise.all([this.backups.refreshGauges(), this.drills.refreshGauges()]);
  }
}
