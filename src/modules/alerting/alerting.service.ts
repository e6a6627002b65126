import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { DataSource, Repository } from 'typeorm';
import { NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AlertIncidentEntity } from './alert-incident.entity';
import { ALERTS_RECEIVED } from './alerting.metrics';
import { AlertIncidentView, AlertmanagerAlertDto, AlertmanagerWebhookDto, ListAlertsQuery } from './dto/alertmanager-webhook.dto';
import { CanaryService } from '../serving/canary/canary.service';

const LIST_LIMIT = 200;

export interface WebhookReceipt {
  received: number;
  incidents: { id: string; alertname: string; status: string; action: string | null }[];
}

/**
 * Incidents from Alertmanager's webhook: one row per alert occurrence (fingerprint + start), updated
 * by the repeats and the resolution. A critical alert named in ALERT_ROLLBACK_ALERTS rolls back the
 * model's canary, once per incident.
 */
@Injectable()
export class AlertingService {
  private readonly logger = new Logger(AlertingService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(AlertIncidentEntity) private readonly incidents: Repository<AlertIncidentEntity>,
    private readonly canaries: CanaryService,
    @InjectMetric(ALERTS_RECEIVED) private readonly received: Counter,
  ) {}

  /** `scope`: the model the sending key is limited to, if any; alerts about other models never act. */
  async receive(payload: AlertmanagerWebhookDto, scope: string | null = null): Promise<WebhookReceipt> {
    const incidents: WebhookReceipt['incidents'] = [];
    for (const alert of payload.alerts) {
      const labels = stringRecord(alert.labels);
      const alertname = labels.alertname ?? 'unnamed';
      this.received.inc({ alertname, status: alert.status });
      const row = await this.upsert(alert, labels, payload.receiver ?? null);
      let action = row.action;
      const modelName = labels.model_name ?? this.config.SERVING_MODEL_NAME;
      if (!action && this.mayRollBack(alert, labels) && (!scope || scope === modelName)) action = await this.rollBackCanary(row, modelName, alertname);
      incidents.push({ id: row.id, alertname, status: alert.status, action });
    }
    return { received: payload.alerts.length, incidents };
  }

  /** Incidents by when they were last heard of, newest first; `before_id` pages on from the last one of the previous page. */
  async list(query: ListAlertsQuery): Promise<AlertIncidentView[]> {
    const qb = this.incidents
      .createQueryBuilder('a')
      .orderBy('a.last_received_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(Math.min(query.limit ?? LIST_LIMIT, LIST_LIMIT));
    if (query.status) qb.andWhere('a.status = :status', { status: query.status });
    if (query.model) qb.andWhere('a.model_name = :model', { model: query.model });
    if (query.alertname) qb.andWhere('a.alertname = :alertname', { alertname: query.alertname });
    if (query.since) qb.andWhere('a.starts_at >= :since', { since: new Date(query.since) });
    if (query.until) qb.andWhere('a.starts_at < :until', { until: new Date(query.until) });
    if (query.before_id) {
      if (!(await this.incidents.existsBy({ id: query.before_id }))) {
        throw new ValidationFailedError([{ field: 'before_id', message: 'no such incident; pass the id of the last incident of the previous page' }]);
      }
      qb.andWhere('(a.last_received_at, a.id) < (SELECT last_received_at, id FROM alert_incidents WHERE id = :beforeId)', { beforeId: query.before_id });
    }
    return (await qb.getMany()).map(toView);
  }

  async get(id: string): Promise<AlertIncidentView> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.incidents.findOneBy({ id }) : null;
    if (!row) throw new NotFoundError(`No alert incident ${id}. List them with GET /api/v1/alerts.`);
    return toView(row);
  }

  private async upsert(alert: AlertmanagerAlertDto, labels: Record<string, string>, receiver: string | null): Promise<AlertIncidentEntity> {
    const annotations = stringRecord(alert.annotations ?? {});
    const endsAt = alert.status === 'resolved' && alert.endsAt && !alert.endsAt.startsWith('0001-') ? new Date(alert.endsAt) : null;
    const [row] = await this.db.query(
      `INSERT INTO alert_incidents (id, fingerprint, alertname, severity, status, summary, labels, annotations, model_name, model_version, receiver, generator_url, starts_at, ends_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
         status = EXCLUDED.status, ends_at = EXCLUDED.ends_at, summary = EXCLUDED.summary, labels = EXCLUDED.labels,
         annotations = EXCLUDED.annotations, receiver = EXCLUDED.receiver,
         last_received_at = now(), notifications = alert_incidents.notifications + 1
       RETURNING id, action`,
      [
        randomUUID(),
        alert.fingerprint,
        labels.alertname ?? 'unnamed',
        labels.severity ?? null,
        alert.status,
        annotations.summary ?? null,
        JSON.stringify(labels),
        JSON.stringify(annotations),
        labels.model_name ?? null,
        labels.version ?? labels.model_version ?? null,
        receiver,
        alert.generatorURL ?? null,
        new Date(alert.startsAt),
        endsAt,
      ],
    );
    return { ...row, action: row.action ?? null } as AlertIncidentEntity;
  }

  private mayRollBack(alert: AlertmanagerAlertDto, labels: Record<string, string>): boolean {
    return (
      this.config.ALERT_AUTO_ROLLBACK &&
      alert.status === 'firing' &&
      labels.severity === 'critical' &&
      this.config.ALERT_ROLLBACK_ALERTS.includes(labels.alertname)
    );
  }

  private async rollBackCanary(row: AlertIncidentEntity, modelName: string, alertname: string): Promise<string | null> {
    try {
      const version = await this.canaries.rollbackForAlert(modelName, alertname, `incident ${row.id}`);
      if (!version) return null;
      const action = `canary_rolled_back:${modelName}:v${version}`;
      await this.incidents.update({ id: row.id }, { action });
      return action;
    } catch (err) {
      // Alertmanager retries a failed webhook, and the incident has no action yet, so it is tried again.
      this.logger.error(`could not roll back the canary of ${modelName} for alert ${alertname}: ${(err as Error).message}`);
      throw err;
    }
  }
}

function stringRecord(value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function toView(r: AlertIncidentEntity): AlertIncidentView {
  return {
    id: r.id,
    alertname: r.alertname,
    severity: r.severity,
    status: r.status,
    summary: r.summary,
    model_name: r.modelName,
    model_version: r.modelVersion,
    labels: r.labels,
    annotations: r.annotations,
    starts_at: r.startsAt.toISOString(),
    ends_at: r.endsAt?.toISOString() ?? null,
    first_received_at: r.firstReceivedAt.toISOString(),
    last_received_at: r.lastReceivedAt.toISOString(),
    notifications: r.notifications,
    action: r.action,
    generator_url: r.generatorUrl,
  };
}
