import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { CommonError, ErrorCode, ValidationFailedError } from '../../common/errors/app-error';
import { ModelNotLoadedError, ServingError, ServingErrorCode } from './serving.errors';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { CanaryService } from './canary/canary.service';
import { LiveCanary } from './canary/live-canary';
import { CustomerRecord } from './customer-validator';
import { BatchPredictionResponseDto, PredictionResponseDto } from './dto/prediction.dto';
import { ModelLoaderService } from './model-loader.service';
import { OnnxModel } from './onnx-model';
import { RecentRequests } from './recent-requests';
import { recommendation, riskLevel, RiskPolicy } from './risk';
import { PREDICTION_LATENCY, PREDICTIONS_TOTAL, SCORING_DURATION, SCORING_ERRORS } from './serving.metrics';

const MAX_REPORTED_ERRORS = 50;

@Injectable()
export class PredictionService {
  private readonly policy: RiskPolicy;
  private readonly scoringChildren = new Map<string, { duration: Histogram.Internal<string>; errors: Counter.Internal }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly loader: ModelLoaderService,
    private readonly recent: RecentRequests,
    private readonly predictionLog: PredictionLogService,
    @InjectMetric(PREDICTIONS_TOTAL) private readonly predictions: Counter,
    @InjectMetric(PREDICTION_LATENCY) private readonly latency: Histogram,
    @InjectMetric(SCORING_DURATION) private readonly scoringDuration: Histogram,
    @InjectMetric(SCORING_ERRORS) private readonly scoringErrors: Counter,
    private readonly canaries: CanaryService,
  ) {
    this.policy = {
      churnThreshold: config.PREDICTION_THRESHOLD,
      mediumThreshold: config.RISK_MEDIUM_THRESHOLD,
      highThreshold: config.RISK_HIGH_THRESHOLD,
    };
  }

  async predictOne(body: unknown, requestId: string): Promise<PredictionResponseDto> {
    const started = process.hrtime.bigint();
    const model = this.requireModel();
    const errors = model.validator.errors(body);
    if (errors.length > 0) throw new ValidationFailedError(errors);
    const customer = body as CustomerRecord;
    this.recent.add(customer);
    const canary = this.canaries.live;
    if (canary) return this.predictBesideChallenger(model, canary, customer, requestId, started);
    const p = await this.scoreOne(model, customer);
    const latencyMs = elapsedMs(started);
    this.latency.observe({ endpoint: 'predict' }, latencyMs / 1000);
    const response = this.present(model, customer, p, latencyMs, new Date().toISOString());
    this.predictions.inc({ risk_level: response.risk_level, model_version: model.version });
    this.log(model, requestId, 0, customer, response, 'champion');
    return response;
  }

  /**
   * While a challenger is attached: its share of customers (sticky) is answered by it, falling
   * back to the champion if it fails; the other model scores the same customer after the response
   * is sent, for the live comparison and the log. A failing challenger never fails a request.
   */
  private async predictBesideChallenger(
    champion: OnnxModel,
    canary: LiveCanary,
    customer: CustomerRecord,
    requestId: string,
    started: bigint,
  ): Promise<PredictionResponseDto> {
    let answeredBy: OnnxModel = champion;
    let p: number | null = null;
    if (canary.answersFor(customer.customer_id)) {
      p = await this.scoreChallenger(canary, customer, 'canary');
      if (p !== null) answeredBy = canary.model;
    }
    if (p === null) p = await this.scoreChampion(champion, canary, customer);
    const latencyMs = elapsedMs(started);
    this.latency.observe({ endpoint: 'predict' }, latencyMs / 1000);
    const response = this.present(answeredBy, customer, p, latencyMs, new Date().toISOString());
    this.predictions.inc({ risk_level: response.risk_level, model_version: answeredBy.version });
    const variant = answeredBy === champion ? 'champion' : 'canary';
    const compareWith = variant === 'canary' ? champion : canary.shadows(customer.customer_id) ? canary.model : null;
    if (compareWith && canary.tryBeginComparison()) {
      setImmediate(() => void this.compare(canary, champion, answeredBy, compareWith, customer, requestId, response, variant));
    } else {
      this.log(answeredBy, requestId, 0, customer, response, variant);
    }
    return response;
  }

  private async compare(
    canary: LiveCanary,
    champion: OnnxModel,
    answeredBy: OnnxModel,
    other: OnnxModel,
    customer: CustomerRecord,
    requestId: string,
    response: PredictionResponseDto,
    variant: 'champion' | 'canary',
  ): Promise<void> {
    let q: number | null = null;
    try {
      q = other === champion ? await this.scoreChampion(champion, canary, customer).catch(() => null) : await this.scoreChallenger(canary, customer, 'shadow');
      if (q !== null) {
        const p = response.churn_probability;
        const threshold = this.policy.churnThreshold;
        canary.window.recordComparison(p >= threshold === q >= threshold, riskLevel(p, this.policy) === riskLevel(q, this.policy), Math.abs(p - q));
      }
    } finally {
      this.log(answeredBy, requestId, 0, customer, response, variant, q === null ? undefined : { version: other.version, probability: q });
      canary.endComparison();
    }
  }

  private async scoreChampion(model: OnnxModel, canary: LiveCanary, customer: CustomerRecord): Promise<number> {
    const t0 = process.hrtime.bigint();
    try {
      const p = await this.scoreOne(model, customer);
      canary.window.record('champion', elapsedMs(t0), p);
      this.scoringMetrics(model, 'champion').duration.observe(elapsedMs(t0) / 1000);
      return p;
    } catch (err) {
      canary.window.record('champion', elapsedMs(t0), null);
      this.scoringMetrics(model, 'champion').errors.inc();
      throw err;
    }
  }

  /** The challenger's probability, or null when it failed (recorded against it, never thrown). */
  private async scoreChallenger(canary: LiveCanary, customer: CustomerRecord, variant: 'canary' | 'shadow'): Promise<number | null> {
    const model = canary.model;
    const t0 = process.hrtime.bigint();
    let p: number | null = null;
    try {
      // The request met the champion's contract; the challenger only needs its own inputs in it.
      if (model.validator.inputErrors(customer).length === 0) {
        const score = await model.scoreOne(customer);
        if (score >= 0 && score <= 1) p = score;
      }
    } catch {
      p = null;
    }
    const ms = elapsedMs(t0);
    canary.window.record('challenger', ms, p);
    const metrics = this.scoringMetrics(model, variant);
    metrics.duration.observe(ms / 1000);
    if (p === null) metrics.errors.inc();
    return p;
  }

  private scoringMetrics(model: OnnxModel, variant: 'champion' | 'canary' | 'shadow') {
    const key = `${model.version}|${variant}`;
    let m = this.scoringChildren.get(key);
    if (!m) {
      const labels = { model_name: model.modelName, version: model.version, variant };
      m = { duration: this.scoringDuration.labels(labels), errors: this.scoringErrors.labels(labels) };
      this.scoringChildren.set(key, m);
    }
    return m;
  }

  async predictBatch(body: unknown, requestId: string): Promise<BatchPredictionResponseDto> {
    const started = process.hrtime.bigint();
    const rows = extractRows(body);
    if (rows.length > this.config.BATCH_MAX_ROWS) {
      throw new CommonError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        `Batch has ${rows.length} rows; the maximum is ${this.config.BATCH_MAX_ROWS}. Split it into several requests, or use batch scoring for whole tables.`,
      );
    }
    if (rows.length === 0) throw new ValidationFailedError([{ field: 'customers', message: 'must contain at least one customer' }]);
    const model = this.requireModel();
    const errors = [];
    for (let i = 0; i < rows.length && errors.length < MAX_REPORTED_ERRORS; i++) errors.push(...model.validator.errors(rows[i], `customers[${i}].`));
    if (errors.length > 0) throw new ValidationFailedError(errors.slice(0, MAX_REPORTED_ERRORS));
    const customers = rows as CustomerRecord[];
    const scores = await this.score(model, customers);
    const timestamp = new Date().toISOString();
    const latencyMs = elapsedMs(started);
    const predictions = customers.map((c, i) => this.present(model, c, scores[i], latencyMs, timestamp));
    this.latency.observe({ endpoint: 'batch' }, latencyMs / 1000);
    this.countBatch(model, predictions);
    // Hashing ids and building 1000 log records is done after the response is on its way.
    setImmediate(() => {
      for (let i = 0; i < customers.length; i++) this.log(model, requestId, i, customers[i], predictions[i], 'champion');
    });
    return {
      predictions,
      total_processed: predictions.length,
      high_risk_count: predictions.filter((p) => p.risk_level === 'high').length,
      processing_time_ms: latencyMs,
      model_name: model.modelName,
      model_version: model.version,
    };
  }

  /** One counter increment per risk level instead of one per row. */
  private countBatch(model: OnnxModel, predictions: PredictionResponseDto[]): void {
    const byLevel = new Map<string, number>();
    for (const p of predictions) byLevel.set(p.risk_level, (byLevel.get(p.risk_level) ?? 0) + 1);
    for (const [level, n] of byLevel) this.predictions.inc({ risk_level: level, model_version: model.version }, n);
  }

  /** The log record keeps the answering model's inputs only (never a copy of the request) and gets an id of its own. */
  private log(
    model: OnnxModel,
    requestId: string,
    rowIndex: number,
    customer: CustomerRecord,
    p: PredictionResponseDto,
    variant: 'champion' | 'canary',
    comparison?: { version: string; probability: number },
  ): void {
    const features: Record<string, unknown> = {};
    for (const input of model.signature.inputs) features[input.name] = customer[input.name];
    this.predictionLog.enqueue({
      id: randomUUID(),
      predicted_at: p.timestamp,
      request_id: requestId,
      row_index: rowIndex,
      customer_hash: this.predictionLog.hashCustomer(customer.customer_id),
      model_name: p.model_name,
      model_version: p.model_version,
      features,
      churn_probability: p.churn_probability,
      risk_level: p.risk_level,
      latency_ms: p.latency_ms,
      variant,
      comparison_version: comparison?.version ?? null,
      comparison_probability: comparison?.probability ?? null,
    });
  }

  private requireModel(): OnnxModel {
    const model = this.loader.model;
    if (!model) {
      const status = this.loader.status();
      throw new ModelNotLoadedError(
        status.last_error
          ? `No model is loaded: version ${status.last_error.version} was refused (${status.last_error.message}).`
          : `No model is loaded yet for '${status.model_name}'. Promote a version to Production, or retry in a few seconds.`,
      );
    }
    return model;
  }

  private async scoreOne(model: OnnxModel, customer: CustomerRecord): Promise<number> {
    try {
      return await model.scoreOne(customer);
    } catch (err) {
      throw new ServingError(ServingErrorCode.INFERENCE_FAILED, `Model ${model.modelName} v${model.version} failed to score the request.`);
    }
  }

  private async score(model: OnnxModel, rows: CustomerRecord[]): Promise<Float32Array> {
    try {
      return await model.score(rows);
    } catch (err) {
      throw new ServingError(ServingErrorCode.INFERENCE_FAILED, `Model ${model.modelName} v${model.version} failed to score the request.`);
    }
  }

  private present(model: OnnxModel, customer: CustomerRecord, p: number, latencyMs: number, timestamp: string): PredictionResponseDto {
    const level = riskLevel(p, this.policy);
    return {
      customer_id: customer.customer_id,
      churn_probability: Math.round(p * 1e6) / 1e6,
      will_churn: p >= this.policy.churnThreshold,
      risk_level: level,
      recommendation: recommendation(level, customer),
      timestamp,
      latency_ms: latencyMs,
      model_name: model.modelName,
      model_version: model.version,
    };
  }
}

function extractRows(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const customers = (body as { customers?: unknown } | null)?.customers;
  if (Array.isArray(customers)) return customers;
  throw new ValidationFailedError([{ field: 'customers', message: 'must be an array of customers (send {"customers": [...]} or a JSON array)' }]);
}

function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
}
