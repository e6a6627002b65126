import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';

/** Continuous WAL archiving of a Postgres we run ourselves (pgBackRest): base backups, verification and the RPO. */
@Injectable()
export class WalArchive {
  private readonly logger = new Logger(WalArchive.name);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Whether WAL is archived here (a Postgres we run, with pgBackRest). */
  get enabled(): boolean {
    return false;
  }

  /** A pgBackRest base backup (full weekly, incremental otherwise) when archiving is on; nothing otherwise. */
  async baseBackup(signal?: AbortSignal): Promise<void> {
    if (!this.enabled) return;
    signal?.throwIfAborted();
  }

  /** `pgbackrest verify` when archiving is on; undefined otherwise. */
  async verify(signal?: AbortSignal): Promise<{ ok: boolean; detail: string } | undefined> {
    if (!this.enabled) return undefined;
    signal?.throwIfAborted();
    return undefined;
  }
}
