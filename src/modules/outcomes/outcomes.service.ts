import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { assertModelScope } from '../../common/auth/model-scope';
import { Principal } from '../../common/auth/roles';
import { ValidationFailedError } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditService } from '../audit/audit.service';
import { RecordOutcomesResult } from './dto/outcomes.dto';
import { parseOutcomes, parseWindow } from './outcome-input';
import { OutcomeMetricsService, OutcomeWindowMetrics } from './outcome-metrics.service';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { PredictionQueries } from '../prediction-log/prediction-queries';

/** Rows per INSERT … SELECT unnest(): keeps each statement's parameters small. */
const UPSERT_ROWS = 5000;
export const DEFAULT_METRICS_WINDOW = '30d';

/**
 * Ground-truth outcomes: stored under the keyed customer hash of the prediction log (the raw id never
 * reaches the database), one per (customer, observed_at); posting the same outcome again changes
 * nothing and a different `churned` corrects it.
 */
@Injectable()
export class OutcomesService {
  private readonly logger = new Logger(OutcomesService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly predictionLog: PredictionLogService,
    private readonly predictionQueries: PredictionQueries,
    private readonly metrics: OutcomeMetricsService,
    private readonly audit: AuditService,
  ) {}

  async record(body: unknown, principal: Principal, requestId?: string): Promise<RecordOutcomesResult> {
    const rows = parseOutcomes(body, this.config.OUTCOMES_MAX_PER_REQUEST);
    // The same (customer, observed_at) twice in one request: the last one wins, as if posted one after the other.
    const unique = new Map<string, { hash: string; observedAt: string; churned: boolean }>();
    for (const r of rows) {
      const hash = this.predictionLog.hashCustomer(r.customer_id);
      const observedAt = r.observed_at.toISOString();
      unique.set(`${hash}|${observedAt}`, { hash, observedAt, churned: r.churned });
    }
    const items = [...unique.values()];
    const lookbackDays = this.config.OUTCOMES_LOOKBACK_DAYS;

    const result = await this.db.transaction(async (tx) => {
      let created = 0;
      let corrected = 0;
      for (let i = 0; i < items.length; i += UPSERT_ROWS) {
        const part = items.slice(i, i + UPSERT_ROWS);
        const changed: { inserted: boolean }[] = await tx.query(
          `INSERT INTO outcomes (customer_hash, observed_at, churned, reported_by)
           SELECT h, t, c, $4 FROM unnest($1::char(64)[], $2::timestamptz[], $3::boolean[]) AS u(h, t, c)
           ON CONFLICT (customer_hash, observed_at) DO UPDATE
              SET churned = EXCLUDED.churned, updated_at = now(), corrections = outcomes.corrections + 1, reported_by = EXCLUDED.reported_by
            WHERE outcomes.churned IS DISTINCT FROM EXCLUDED.churned
           RETURNING (xmax = 0) AS inserted`,
          [part.map((p) => p.hash), part.map((p) => p.observedAt), part.map((p) => p.churned), principal.keyId],
        );
        for (const c of changed) {
          if (c.inserted) created++;
          else corrected++;
        }
      }
      let first = Infinity;
      let last = -Infinity;
      for (const p of items) {
        const t = Date.parse(p.observedAt);
        first = Math.min(first, t);
        last = Math.max(last, t);
      }
      // Constant bounds on predicted_at let Postgres prune the daily partitions.
      const matched = await this.predictionQueries.countMatchedOutcomes(
        items,
        { lookbackDays, predictedFrom: new Date(first - lookbackDays * 86_400_000), predictedTo: new Date(last) },
        tx,
      );
      const counts: RecordOutcomesResult = {
        accepted: rows.length,
        distinct: items.length,
        created,
        corrected,
        unchanged: items.length - created - corrected,
        matched,
        unmatched: items.length - matched,
        lookback_days: lookbackDays,
      };
      await this.audit.record(
        {
          actorKeyId: principal.keyId,
          action: 'outcomes.recorded',
          targetType: 'outcomes',
          targetId: requestId ?? `upload-${Date.now()}`,
          after: counts,
          requestId: requestId ?? null,
        },
        tx,
      );
      return counts;
    });
    this.logger.log(`outcomes recorded: ${JSON.stringify(result)}`);
    // The gauges follow the upload (this replica at once, the others on their refresh timer).
    void this.metrics.refreshGauges();
    return result;
  }

  /** Right to erasure: deletes every outcome of the customer (by its keyed hash), in the caller's transaction. Returns how many. */
  async eraseCustomer(customerHash: string, manager: EntityManager): Promise<number> {
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH gone AS (DELETE FROM outcomes WHERE customer_hash = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [customerHash],
    );
    return n;
  }

  /** GET /api/v1/outcomes/metrics: the window ends now. */
  async metricsFor(query: { modelName?: string; window?: string; k?: number }, principal: Principal): Promise<OutcomeWindowMetrics & { window: string }> {
    const window = query.window ?? DEFAULT_METRICS_WINDOW;
    const ms = parseWindow(window);
    if (ms === undefined)
      throw new ValidationFailedError([{ field: 'window', message: 'must be a number of hours or days such as 24h, 7d or 30d (at most 3660d)' }]);
    const k = query.k;
    if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 1_000_000))
      throw new ValidationFailedError([{ field: 'k', message: 'must be an integer from 1 to 1000000' }]);
    if (query.modelName !== undefined) {
      if (query.modelName.length === 0) throw new ValidationFailedError([{ field: 'model_name', message: 'must not be empty' }]);
      assertModelScope(principal, query.modelName);
    }
    const now = new Date();
    const metrics = await this.metrics.compute({ from: new Date(now.getTime() - ms), to: now, modelName: query.modelName ?? principal.modelName ?? null, k });
    return { window, ...metrics };
  }
}
