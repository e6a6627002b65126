import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../../common/auth/roles';
import { NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditService } from '../audit/audit.service';
import { OutcomeReportBody, OutcomeReportSummaryView, OutcomeReportView } from './dto/outcomes.dto';
import { OutcomeReportEntity, OutcomeReportTrigger } from './entities/outcome-report.entity';
import { parseMonth } from './outcome-input';
import { OutcomeMetricsService } from './outcome-metrics.service';

const MONTH_MESSAGE = 'must be a calendar month such as 2026-10';

/**
 * The monthly comparison of predictions with real outcomes (seed 001): for the outcomes observed in a
 * calendar month (SCHEDULER_TIMEZONE), each model version's metrics, its predicted vs actual churn
 * rate, and per risk level the count and the actual churn rate. Built by the monthly job for the
 * previous month, or on demand; building a month again (late outcomes) replaces its report.
 */
@Injectable()
export class OutcomeReportsService {
  private readonly logger = new Logger(OutcomeReportsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(OutcomeReportEntity) private readonly reports: Repository<OutcomeReportEntity>,
    private readonly metrics: OutcomeMetricsService,
    private readonly audit: AuditService,
  ) {}

  /** The monthly job: the report of the calendar month before the scheduled time. */
  async runScheduled(scheduledFor: Date): Promise<void> {
    const month = previousMonth(monthOf(scheduledFor, this.config.SCHEDULER_TIMEZONE));
    const report = await this.build(month, 'schedule');
    this.logger.log(
      `monthly outcome report ${month}: ${report.outcomes.matched}/${report.outcomes.total} outcomes matched, ${report.versions.length} model versions`,
    );
  }

  async build(month: string, trigger: OutcomeReportTrigger, principal?: Principal): Promise<OutcomeReportView> {
    const parsed = parseMonth(month);
    if (!parsed) throw new ValidationFailedError([{ field: 'month', message: MONTH_MESSAGE }]);
    const tz = this.config.SCHEDULER_TIMEZONE;
    if (month > monthOf(new Date(), tz)) throw new ValidationFailedError([{ field: 'month', message: `${month} has not started yet (${tz})` }]);
    // Month boundaries in the scheduler's time zone, by Postgres' time-zone rules.
    const [bounds]: { from: Date; to: Date }[] = await this.db.query(
      `SELECT ($1::date)::timestamp AT TIME ZONE $2 AS "from", ($1::date + interval '1 month')::timestamp AT TIME ZONE $2 AS "to"`,
      [`${month}-01`, tz],
    );
    const from = new Date(bounds.from);
    const to = new Date(bounds.to);
    const computed = await this.metrics.compute({ from, to, modelName: null });
    const body: OutcomeReportBody = {
      month,
      from: from.toISOString(),
      to: to.toISOString(),
      time_zone: tz,
      complete: Date.now() >= to.getTime(),
      threshold: computed.threshold,
      lookback_days: computed.lookback_days,
      k: this.config.OUTCOMES_PRECISION_AT_K,
      outcomes: computed.outcomes,
      versions: computed.versions,
    };
    const saved = await this.db.transaction(async (tx) => {
      const [row]: { builds: number; created_at: Date }[] = await tx.query(
        `INSERT INTO outcome_reports (month, period_from, period_to, complete, report, trigger, created_by, builds)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, 1)
         ON CONFLICT (month) DO UPDATE
            SET period_from = EXCLUDED.period_from, period_to = EXCLUDED.period_to, complete = EXCLUDED.complete,
                report = EXCLUDED.report, trigger = EXCLUDED.trigger, created_by = EXCLUDED.created_by,
                created_at = now(), builds = outcome_reports.builds + 1
         RETURNING builds, created_at`,
        [month, body.from, body.to, body.complete, JSON.stringify(body), trigger, principal?.keyId ?? null],
      );
      await this.audit.record(
        {
          actorKeyId: principal?.keyId ?? 'system',
          action: row.builds > 1 ? 'outcome_report.rebuilt' : 'outcome_report.created',
          targetType: 'outcome_report',
          targetId: month,
          after: {
            trigger,
            complete: body.complete,
            outcomes: body.outcomes,
            versions: body.versions.map((v) => ({
              model_name: v.model_name,
              model_version: v.model_version,
              n: v.n,
              accuracy: v.accuracy,
              roc_auc: v.roc_auc,
            })),
          },
        },
        tx,
      );
      return row;
    });
    return {
      ...body,
      trigger,
      created_by: principal?.keyId ?? null,
      created_at: new Date(saved.created_at).toISOString(),
      builds: saved.builds,
    };
  }

  async list(limit = 24): Promise<OutcomeReportSummaryView[]> {
    const rows = await this.reports.find({ order: { month: 'DESC' }, take: Math.min(Math.max(limit, 1), 240) });
    return rows.map((r) => ({
      month: r.month,
      complete: r.complete,
      outcomes: r.report.outcomes,
      versions: r.report.versions.length,
      trigger: r.trigger,
      created_at: r.createdAt.toISOString(),
      builds: r.builds,
    }));
  }

  async get(month: string): Promise<OutcomeReportView> {
    if (!parseMonth(month)) throw new ValidationFailedError([{ field: 'month', message: MONTH_MESSAGE }]);
    const r = await this.reports.findOne({ where: { month } });
    if (!r) throw new NotFoundError(`No outcome report for ${month}; build one with POST /api/v1/outcomes/reports {"month": "${month}"}.`);
    return { ...r.report, trigger: r.trigger, created_by: r.createdBy, created_at: r.createdAt.toISOString(), builds: r.builds };
  }
}

/** `YYYY-MM` of an instant in a time zone. */
export function monthOf(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(at);
  const year = parts.find((p) => p.type === 'year')!.value;
  const month = parts.find((p) => p.type === 'month')!.value;
  return `${year}-${month}`;
}

export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
