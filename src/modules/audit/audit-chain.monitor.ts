import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditAnchor, AuditHead } from './audit-anchor';
import { AuditService, ExpectedHead } from './audit.service';
import { AUDIT_CHAIN_VALID, AUDIT_HEAD_SEQUENCE, AUDIT_LAST_VERIFY } from './audit.metrics';
import { AuditVerification } from './dto/audit.responses';

/**
 * Keeps the audit chain's head visible outside the database. Every AUDIT_HEAD_LOG_INTERVAL_MS (and at
 * start) it verifies the chain against the newest head it has seen and against every registered
 * anchor's, writes the head (sequence and hash) to the log and the churn_audit_* gauges, and hands it
 * to the anchors. A truncation shows as a head that moved backwards, a failed verification and an
 * error in the log.
 */
@Injectable()
export class AuditChainMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditChain');
  private readonly anchors: AuditAnchor[] = [];
  /** The newest head this process has verified: an anchor held in memory. */
  private lastSeen: AuditHead | null = null;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    @InjectMetric(AUDIT_HEAD_SEQUENCE) private readonly headSequence: Gauge,
    @InjectMetric(AUDIT_CHAIN_VALID) private readonly chainValid: Gauge,
    @InjectMetric(AUDIT_LAST_VERIFY) private readonly lastVerify: Gauge,
  ) {}

  /** Adds a place the head is published to and verified against (the backup module's manifests). */
  register(anchor: AuditAnchor): void {
    this.anchors.push(anchor);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.AUDIT_HEAD_LOG_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /**
   * Verifies the chain against `expected`, the newest head this replica has seen and the head every
   * registered anchor keeps (a backup manifest's), and records the result in the metrics.
   */
  async verify(expected: ExpectedHead[] = []): Promise<AuditVerification> {
    const result = await this.audit.verify([...expected, ...(await this.anchoredHeads()), ...(this.lastSeen ? [this.lastSeen] : [])]);
    this.chainValid.set(result.valid ? 1 : 0);
    this.lastVerify.set(Date.now() / 1000);
    if (result.head) {
      this.headSequence.set(result.head.seq);
      if (!this.lastSeen || result.head.seq >= this.lastSeen.seq) this.lastSeen = result.head;
    }
    return result;
  }

  private async anchoredHeads(): Promise<ExpectedHead[]> {
    const anchored: ExpectedHead[] = [];
    for (const anchor of this.anchors) {
      const head = await anchor.latest?.().catch((err) => {
        this.logger.warn(`audit anchor ${anchor.name} could not be read: ${String(err)}`);
        return null;
      });
      if (head) anchored.push(head);
    }
    return anchored;
  }

  private tick(): Promise<void> {
    this.ticking ??= this.publish().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async publish(): Promise<void> {
    try {
      const result = await this.verify();
      if (!result.valid) {
        const b = result.first_broken!;
        this.logger.error(
          `audit chain BROKEN at entry ${b.seq}${b.id ? ` (id ${b.id})` : ''}: ${b.reason}. Last head seen by this replica: ${JSON.stringify(this.lastSeen)}`,
        );
        return;
      }
      const head = result.head;
      this.logger.log(head ? `audit head seq=${head.seq} id=${head.id} hash=${head.hash} (chain verified)` : 'audit log is empty (chain verified)');
      if (!head) return;
      for (const anchor of this.anchors) {
        await anchor.publish(head).catch((err) => this.logger.warn(`audit head could not be published to ${anchor.name}: ${String(err)}`));
      }
    } catch (err) {
      this.logger.warn(`audit chain check failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
