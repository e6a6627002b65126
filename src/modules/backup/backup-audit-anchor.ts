import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { AuditAnchor } from '../audit/audit-anchor';
import { AuditChainMonitor } from '../audit/audit-chain.monitor';
import { anchoredAuditHead } from './catalog';
import { BACKUP_STORES } from './storage/backup-stores';
import { BackupStore } from './storage/backup-store';

/**
 * The backup manifests as an anchor of the audit chain: each manifest records the head at backup time,
 * so deleting the newest audit rows is detected by every later verification (GET /api/v1/audit/verify).
 */
@Injectable()
export class BackupAuditAnchor implements AuditAnchor, OnModuleInit {
  readonly name = 'backup-manifest';

  constructor(
    @Inject(BACKUP_STORES) private readonly stores: BackupStore[],
    private readonly chain: AuditChainMonitor,
  ) {}

  onModuleInit(): void {
    this.chain.register(this);
  }

  /** Heads go into the manifests when backups are taken, not on the monitor's schedule. */
  async publish(): Promise<void> {}

  async latest(): Promise<{ seq: number; hash: string } | null> {
    const head = await anchoredAuditHead(this.stores[0]);
    return head ? { seq: head.seq, hash: head.hash } : null;
  }
}
