import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { InvalidSample } from './entities/batch-scoring-run.entity';

/** Progress of a run as committed with each chunk (the resume cursor and the counters). */
export interface RunProgress {
  rowsScored: number;
  rowsInvalid: number;
  lastChunk: number;
  lastCustomerId: string | null;
  tierCounts: Record<string, number>;
  invalidReasons: Record<string, number>;
  invalidSamples: InvalidSample[];
}

export interface ScoredChunk {
  customerIds: string[];
  probabilities: Float32Array;
  riskLevels: string[];
  modelVersion: string;
}

/** Thrown when another replica has taken the run over (or it ended): this replica must stop writing. */
export class RunOwnershipLostError extends Error {}

/**
 * Writes a chunk of predictions and the run's new cursor in one transaction, so that what is
 * committed and where a resumed run starts can never disagree. One multi-row INSERT per chunk:
 * each column travels as one array parameter and is expanded with unnest (no per-row statements
 * and no bind-parameter limit); ON CONFLICT DO NOTHING makes a repeated customer a no-op.
 */
@Injectable()
export class BatchPredictionWriter {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Returns the number of rows inserted (fewer than sent when the source repeats a customer_id). */
  async commitChunk(
    runId: string,
    chunk: ScoredChunk,
    progress: (inserted: number) => RunProgress,
    /** Checks, inside the transaction, that this replica still holds the run's job (throws when not). */
    fence: (manager: EntityManager) => Promise<void>,
  ): Promise<number> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      await fence(qr.manager);
      let inserted = 0;
      if (chunk.customerIds.length > 0) {
        const result = await qr.query(
          `INSERT INTO batch_predictions (run_id, customer_id, churn_probability, risk_level, model_version, scored_at)
           SELECT $1, c, p, r, $5, now()
             FROM unnest($2::text[], $3::real[], $4::text[]) AS t(c, p, r)
           ON CONFLICT (run_id, customer_id) DO NOTHING`,
          [runId, textArray(chunk.customerIds), realArray(chunk.probabilities), textArray(chunk.riskLevels), chunk.modelVersion],
          true,
        );
        inserted = result.affected ?? 0;
      }
      const p = progress(inserted);
      const updated = await qr.query(
        `UPDATE batch_scoring_runs
            SET rows_scored = $2, rows_invalid = $3, last_chunk = $4, last_customer_id = $5,
                tier_counts = $6, invalid_reasons = $7, invalid_samples = $8
          WHERE id = $1 AND state = 'running'`,
        [
          runId,
          p.rowsScored,
          p.rowsInvalid,
          p.lastChunk,
          p.lastCustomerId,
          JSON.stringify(p.tierCounts),
          JSON.stringify(p.invalidReasons),
          JSON.stringify(p.invalidSamples),
        ],
        true,
      );
      if (!updated.affected) throw new RunOwnershipLostError(`run ${runId} is no longer running on this instance`);
      await qr.commitTransaction();
      return inserted;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release();
    }
  }
}

/** A Postgres array literal of text values (every element quoted and escaped). */
export function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += /["\\]/.test(v) ? `"${v.replace(/(["\\])/g, '\\$1')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/** A Postgres array literal of float4 values; the shortest text that round-trips a float32 is written by Postgres, so full double text is enough. */
export function realArray(values: Float32Array): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += Number.isFinite(v) ? String(v) : 'NaN';
  }
  return `${out}}`;
}
