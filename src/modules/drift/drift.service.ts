import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../../common/auth/roles';
import { assertModelScope } from '../../common/auth/model-scope';
import { NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { RegistryError, RegistryErrorCode } from '../registry/registry.errors';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditService } from '../audit/audit.service';
import { analyzeWindow, FeatureResult, WindowAnalysis } from './drift-analyzer';
import { statusGaugeValue, Thresholds } from './drift-stats';
import { DRIFT_STATUS, FEATURE_PSI, SCORE_PSI } from './drift.metrics';
import { DriftFeatureView, DriftReportPage, DriftReportSummaryView, DriftReportView, FeatureSeriesPage } from './dto/drift.dto';
import { DriftFeatureResultEntity } from './entities/drift-feature-result.entity';
import { DriftReportEntity, DriftTrigger, DriftWindow, RetrainOutcome, WINDOW_MS } from './entities/drift-report.entity';
import { renderDriftReportHtml } from './report-html';
import { parseReferenceProfile, ReferenceProfile } from './reference-profile';
import { PredictionQueries } from '../prediction-log/prediction-queries';
import { RegistryService } from '../registry/registry.service';
import { ModelArtifacts } from '../serving/model-artifacts';
import { TrainingService } from '../training/training.service';

export interface DriftRunRequest {
  modelName?: string;
  version?: string;
  window?: DriftWindow;
  trigger: DriftTrigger;
  principal?: Principal;
  requestId?: string;
}

export interface DriftReportFilter {
  modelName?: string;
  version?: string;
  window?: DriftWindow;
  limit?: number;
  beforeId?: string;
}

/**
 * Drift of logged predictions against the reference profile of the model version that made them:
 * aggregation in Postgres (drift-analyzer), verdicts per seed 004, results stored, exported as
 * gauges, and severe drift opens a retrain (cooldown in the training module) and is audited.
 */
@Injectable()
export class DriftService implements OnApplicationBootstrap {
  private readonly logger = new Logger(DriftService.name);
  /** Label sets of the feature gauges currently exported per (model, window), to replace them on the next report. */
  private readonly exported = new Map<string, { version: string; features: string[] }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(DriftReportEntity) private readonly reports: Repository<DriftReportEntity>,
    @InjectRepository(DriftFeatureResultEntity) private readonly results: Repository<DriftFeatureResultEntity>,
    private readonly registry: RegistryService,
    private readonly artifacts: ModelArtifacts,
    private readonly training: TrainingService,
    private readonly audit: AuditService,
    private readonly predictions: PredictionQueries,
    @InjectMetric(FEATURE_PSI) private readonly featureGauge: Gauge,
    @InjectMetric(SCORE_PSI) private readonly scoreGauge: Gauge,
    @InjectMetric(DRIFT_STATUS) private readonly statusGauge: Gauge,
  ) {}

  get thresholds(): Thresholds {
    return {
      monitor: this.config.DRIFT_PSI_MONITOR,
      retrain: this.config.DRIFT_PSI_RETRAIN,
      retrainMinFeatures: this.config.DRIFT_RETRAIN_MIN_FEATURES,
      minSamples: this.config.DRIFT_MIN_SAMPLES,
    };
  }

  /** A restart must not blank the gauges: they come back from the latest stored report per model and window. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const latest = await this.reports
        .createQueryBuilder('r')
        .distinctOn(['r.model_name', 'r.time_window'])
        .leftJoinAndSelect('r.features', 'f')
        .orderBy('r.model_name')
        .addOrderBy('r.time_window')
        .addOrderBy('r.id', 'DESC')
        .getMany();
      for (const report of latest) this.exportGauges(report, report.features ?? []);
      if (latest.length) this.logger.log(`restored drift gauges from ${latest.length} stored report(s)`);
    } catch (err) {
      this.logger.warn(`could not restore drift gauges: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The scheduled job: every configured window of the served model's Production version. */
  async runScheduled(scheduledFor: Date): Promise<void> {
    const modelName = this.config.SERVING_MODEL_NAME;
    if (!(await this.registry.productionVersion(modelName))) {
      this.logger.warn(`drift job of ${scheduledFor.toISOString()}: ${modelName} has no Production version, nothing to analyse`);
      return;
    }
    for (const window of this.config.DRIFT_SCHEDULE_WINDOWS) {
      const report = await this.run({ modelName, window, trigger: 'schedule' });
      this.logger.log(`drift ${modelName} v${report.version} ${window}: ${report.status} (n=${report.n_current}, score PSI ${report.score_psi ?? '—'})`);
    }
  }

  async run(req: DriftRunRequest): Promise<DriftReportView> {
    const modelName = req.modelName ?? this.config.SERVING_MODEL_NAME;
    const window = req.window ?? '24h';
    const { version, sha256 } = await this.resolveVersion(modelName, req.version);
    const profile = await this.loadProfile(modelName, version, sha256);
    const to = new Date();
    const from = new Date(to.getTime() - WINDOW_MS[window]);
    const t = this.thresholds;
    const analysis = await analyzeWindow((b, w) => this.predictions.windowHistograms(b, w), profile, { modelName, version, from, to }, t);

    const featurePsis = analysis.features.map((f) => f.psi).filter((v): v is number => v !== null);
    const saved = await this.db.transaction(async (m) => {
      const report = await m.getRepository(DriftReportEntity).save(
        m.getRepository(DriftReportEntity).create({
          modelName,
          modelVersion: version,
          window,
          windowStart: from,
          windowEnd: to,
          status: analysis.status,
          severe: analysis.severe,
          nCurrent: analysis.n_current,
          nReference: analysis.n_reference,
          scorePsi: analysis.score.psi,
          maxFeaturePsi: featurePsis.length ? Math.max(...featurePsis) : null,
          severeFeatures: analysis.severe_features,
          thresholds: { monitor: t.monitor, retrain: t.retrain, retrain_min_features: t.retrainMinFeatures, min_samples: t.minSamples },
          profileFormatVersion: profile.format_version,
          trigger: req.trigger,
          requestedBy: req.principal?.keyId ?? null,
          retrain: null,
          queryMs: analysis.query_ms,
        }),
      );
      const rows = [analysis.score, ...analysis.features].map((f, position) => toResultEntity(report.id, position, f));
      await m.getRepository(DriftFeatureResultEntity).insert(rows);
      report.features = rows;
      return report;
    });
    this.exportGauges(saved, saved.features ?? []);
    if (analysis.severe) saved.retrain = await this.actOnSevereDrift(saved, analysis, req);
    return toReportView(saved, saved.features ?? []);
  }

  async list(filter: DriftReportFilter): Promise<DriftReportPage> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), 500);
    const qb = this.reports.createQueryBuilder('r');
    if (filter.modelName) qb.andWhere('r.model_name = :m', { m: filter.modelName });
    if (filter.version) qb.andWhere('r.model_version = :v', { v: filter.version });
    if (filter.window) qb.andWhere('r.time_window = :w', { w: filter.window });
    if (filter.beforeId) qb.andWhere('r.id < :b', { b: filter.beforeId });
    const rows = await qb
      .orderBy('r.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const page = rows.slice(0, limit);
    return { reports: page.map(toSummaryView), next_before_id: rows.length > limit ? page[page.length - 1].id : null };
  }

  /** PSI, KS and chi² per feature over time: the feature results of a page of reports (newest first), without their bins. */
  async featureSeries(filter: DriftReportFilter & { feature?: string }): Promise<FeatureSeriesPage> {
    const { reports, next_before_id } = await this.list(filter);
    if (reports.length === 0) return { points: [], next_before_id };
    const qb = this.results
      .createQueryBuilder('f')
      .select(['f.reportId', 'f.feature', 'f.position', 'f.kind', 'f.psi', 'f.verdict', 'f.test', 'f.statistic', 'f.pValue'])
      .where('f.report_id IN (:...ids)', { ids: reports.map((r) => r.id) });
    if (filter.feature) qb.andWhere('f.feature = :feature', { feature: filter.feature });
    const rows = await qb.getMany();
    const byReport = new Map(reports.map((r) => [r.id, r]));
    const order = new Map(reports.map((r, i) => [r.id, i]));
    rows.sort((a, b) => order.get(String(a.reportId))! - order.get(String(b.reportId))! || a.position - b.position);
    return {
      points: rows.map((f) => {
        const report = byReport.get(String(f.reportId))!;
        return {
          report_id: report.id,
          version: report.version,
          window_end: report.window_end,
          feature: f.feature,
          kind: f.kind,
          psi: f.psi,
          test: f.test,
          statistic: f.statistic,
          p_value: f.pValue,
          verdict: f.verdict,
        };
      }),
      next_before_id,
    };
  }

  async latest(filter: Omit<DriftReportFilter, 'limit' | 'beforeId'>): Promise<DriftReportView> {
    const [summary] = (await this.list({ ...filter, limit: 1 })).reports;
    if (!summary) throw new NotFoundError('No drift report matches; run one with POST /api/v1/drift/runs.');
    return this.get(summary.id);
  }

  /** The report, when it exists and the caller (if any) may see its model. */
  async get(id: string, principal?: Principal): Promise<DriftReportView> {
    const report = await this.find(id);
    if (principal) assertModelScope(principal, report.modelName);
    return toReportView(report, report.features ?? []);
  }

  async html(id: string, principal?: Principal): Promise<string> {
    return renderDriftReportHtml(await this.get(id, principal));
  }

  private async find(id: string): Promise<DriftReportEntity> {
    if (!/^[0-9]{1,18}$/.test(id)) throw new ValidationFailedError([{ field: 'id', message: 'must be a drift report id (a number)' }]);
    const report = await this.reports.findOne({ where: { id }, relations: { features: true } });
    if (!report) throw new NotFoundError(`Drift report ${id} does not exist.`);
    return report;
  }

  private async resolveVersion(modelName: string, version?: string): Promise<{ version: string; sha256: string }> {
    if (!version) {
      const production = await this.registry.productionVersion(modelName);
      if (!production)
        throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model '${modelName}' has no Production version; name a version to analyse.`);
      if (!production.modelSha256)
        throw new RegistryError(
          RegistryErrorCode.MODEL_VERSION_NOT_FOUND,
          `${modelName} v${production.version} has no model_sha256, so its reference profile cannot be verified.`,
        );
      return { version: production.version, sha256: production.modelSha256 };
    }
    const found = (await this.registry.listVersions(modelName)).versions.find((v) => v.version === version);
    if (!found) throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model '${modelName}' has no version ${version}.`);
    if (!found.model_sha256)
      throw new RegistryError(
        RegistryErrorCode.MODEL_VERSION_NOT_FOUND,
        `${modelName} v${version} has no model_sha256, so its reference profile cannot be verified.`,
      );
    return { version, sha256: found.model_sha256 };
  }

  /** reference_profile.json from the version's verified artifact cache (downloaded from MLflow once). */
  private async loadProfile(modelName: string, version: string, sha256: string): Promise<ReferenceProfile> {
    const files = await this.artifacts.fetch(modelName, version, sha256);
    return parseReferenceProfile(await files.read('reference_profile.json'));
  }

  private exportGauges(report: DriftReportEntity, features: DriftFeatureResultEntity[]): void {
    const key = `${report.modelName}\u0000${report.window}`;
    const previous = this.exported.get(key);
    const base = { model_name: report.modelName, window: report.window };
    if (previous) {
      // One version per model and window on the dashboards: the latest report's.
      for (const feature of previous.features) this.featureGauge.remove({ ...base, version: previous.version, feature });
      this.scoreGauge.remove({ ...base, version: previous.version });
      this.statusGauge.remove({ ...base, version: previous.version });
    }
    const labels = { ...base, version: report.modelVersion };
    this.statusGauge.set(labels, statusGaugeValue(report.status));
    const exportedFeatures: string[] = [];
    // Below the minimum sample size no PSI is exported at all (an alert on it must not fire).
    for (const f of features) {
      if (f.psi === null) continue;
      if (f.kind === 'score') this.scoreGauge.set(labels, f.psi);
      else {
        this.featureGauge.set({ ...labels, feature: f.feature }, f.psi);
        exportedFeatures.push(f.feature);
      }
    }
    this.exported.set(key, { version: report.modelVersion, features: exportedFeatures });
  }

  /** Severe drift: ask the training module for a retrain (it applies its cooldown) and audit both. */
  private async actOnSevereDrift(report: DriftReportEntity, analysis: WindowAnalysis, req: DriftRunRequest): Promise<RetrainOutcome> {
    const what = [
      analysis.score.psi !== null && analysis.score.psi >= this.config.DRIFT_PSI_RETRAIN ? `score PSI ${analysis.score.psi.toFixed(3)}` : null,
      analysis.severe_features.length
        ? `${analysis.severe_features.length} feature(s) at PSI >= ${this.config.DRIFT_PSI_RETRAIN} (${analysis.severe_features.join(', ')})`
        : null,
    ]
      .filter(Boolean)
      .join('; ');
    const reason = `severe drift in report ${report.id} (${report.modelName} v${report.modelVersion}, ${report.window}): ${what}`;
    let outcome: RetrainOutcome;
    try {
      const decision = await this.training.requestRetrain(report.modelName, 'drift', reason);
      outcome = { requested: true, started: decision.started, run_id: decision.run?.id ?? null, reason: decision.reason };
    } catch (err) {
      outcome = { requested: true, started: false, run_id: null, reason: `retrain request failed: ${err instanceof Error ? err.message : String(err)}` };
      this.logger.error(`drift report ${report.id}: ${outcome.reason}`);
    }
    await this.reports.update({ id: report.id }, { retrain: outcome });
    await this.audit.record({
      actorKeyId: req.principal?.keyId ?? 'system',
      action: 'drift.severe',
      targetType: 'drift_report',
      targetId: report.id,
      modelName: report.modelName,
      after: {
        report_id: report.id,
        version: report.modelVersion,
        window: report.window,
        n_current: report.nCurrent,
        score_psi: report.scorePsi,
        severe_features: report.severeFeatures,
        retrain: outcome,
      },
      reason,
      requestId: req.requestId ?? null,
    });
    this.logger.warn(`${reason}; retrain ${outcome.started ? `started (run ${outcome.run_id})` : `not started: ${outcome.reason}`}`);
    return outcome;
  }
}

function toResultEntity(reportId: string, position: number, f: FeatureResult): DriftFeatureResultEntity {
  const e = new DriftFeatureResultEntity();
  e.reportId = reportId;
  e.position = position;
  e.feature = f.feature;
  e.kind = f.kind;
  e.psi = f.psi;
  e.verdict = f.verdict;
  e.test = f.ks ? 'ks' : f.chi2 ? 'chi2' : null;
  e.statistic = f.ks?.statistic ?? f.chi2?.statistic ?? null;
  e.pValue = f.ks?.p_value ?? f.chi2?.p_value ?? null;
  e.dof = f.chi2?.dof ?? null;
  e.bins = { ...f.bins, ...(f.ks ? { ks_grid_points: f.ks.grid_points } : {}) };
  return e;
}

function toSummaryView(r: DriftReportEntity): DriftReportSummaryView {
  return {
    id: r.id,
    model_name: r.modelName,
    version: r.modelVersion,
    window: r.window,
    window_start: r.windowStart.toISOString(),
    window_end: r.windowEnd.toISOString(),
    status: r.status,
    severe: r.severe,
    n_current: r.nCurrent,
    n_reference: r.nReference,
    score_psi: r.scorePsi,
    max_feature_psi: r.maxFeaturePsi,
    severe_features: r.severeFeatures,
    thresholds: r.thresholds,
    profile_format_version: r.profileFormatVersion,
    trigger: r.trigger,
    requested_by: r.requestedBy,
    retrain: r.retrain,
    query_ms: Number(r.queryMs.toFixed(1)),
    created_at: r.createdAt.toISOString(),
  };
}

function toFeatureView(f: DriftFeatureResultEntity): DriftFeatureView {
  const n = f.bins.current_counts.reduce((a, b) => a + b, 0);
  return {
    feature: f.feature,
    kind: f.kind,
    psi: f.psi,
    verdict: f.verdict,
    test:
      f.test === null || f.statistic === null || f.pValue === null
        ? null
        : { name: f.test, statistic: f.statistic, p_value: f.pValue, dof: f.dof, grid_points: f.bins.ks_grid_points ?? null },
    bins: {
      labels: f.bins.labels,
      reference_shares: f.bins.reference_shares,
      current_counts: f.bins.current_counts,
      current_shares: f.bins.current_counts.map((c) => (n > 0 ? c / n : 0)),
    },
  };
}

function toReportView(r: DriftReportEntity, results: DriftFeatureResultEntity[]): DriftReportView {
  const sorted = [...results].sort((a, b) => a.position - b.position);
  const score = sorted.find((f) => f.kind === 'score');
  if (!score) throw new Error(`drift report ${r.id} has no score result`);
  return { ...toSummaryView(r), score: toFeatureView(score), features: sorted.filter((f) => f.kind !== 'score').map(toFeatureView) };
}
