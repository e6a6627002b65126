import { ApiCall } from './api-client';
import { CliIo } from './output';
import { PromotionView } from './promotion-views';

export const MODELS_USAGE = `  models [<name>]              the registered models; with a name, its versions with stage and key metrics`;

interface ModelSummary {
  name: string;
  production_version: string | null;
  staging_versions: string[];
  latest_version: string | null;
  last_updated: string | null;
}

interface VersionView {
  version: string;
  stage: string;
  stage_changed_at: string | null;
  mlflow: { tags: Record<string, string> } | null;
  metrics?: Record<string, number> | null;
}

interface TrainingRunView {
  model_version: string | null;
  metrics: Record<string, number> | null;
}

/** The metrics shown in the human table; --json carries every metric found. */
const KEY_METRICS = ['pr_auc', 'roc_auc', 'precision_at_50'];

const enc = encodeURIComponent;

/** `models` lists the registered models; `models <name>` lists a model's versions with stage and key metrics. */
export async function modelsCommand(call: ApiCall, args: string[], io: CliIo): Promise<number> {
  const name = args.find((a) => !a.startsWith('--'));
  if (!name) {
    const list = await call<{ mlflow_available: boolean; models: ModelSummary[] }>('GET', '/api/v1/models');
    io.result(list);
    if (!list.mlflow_available) io.text('(MLflow is unreachable: stages come from the control plane only)');
    if (list.models.length === 0) io.text('No registered models yet: train one with `npm run cli -- train --wait`.');
    for (const m of list.models)
      io.text(
        `${m.name.padEnd(24)} Production: ${m.production_version ? `v${m.production_version}` : '—'}  Staging: ${m.staging_versions.map((v) => `v${v}`).join(', ') || '—'}  latest: v${m.latest_version ?? '—'}`,
      );
    return 0;
  }
  const [list, runs, promotions] = await Promise.all([
    call<{ name: string; mlflow_available: boolean; versions: VersionView[] }>('GET', `/api/v1/models/${enc(name)}/versions`),
    call<TrainingRunView[]>('GET', `/api/v1/training/runs?model_name=${enc(name)}&state=succeeded&limit=500`),
    call<PromotionView[]>('GET', `/api/v1/models/${enc(name)}/promotions`),
  ]);
  const versions = list.versions.map((v) => ({ ...v, ...metricsOf(v, runs, promotions) }));
  io.result({ ...list, versions });
  if (versions.length === 0) {
    io.text(`${name} has no versions: train one with \`npm run cli -- train --model ${name} --wait\`.`);
    return 0;
  }
  io.text(`${'version'.padEnd(8)}${'stage'.padEnd(12)}${KEY_METRICS.map((k) => k.padEnd(17)).join('')}${'family'.padEnd(24)}stage changed`);
  for (const v of versions) {
    const cells = KEY_METRICS.map((k) => (v.metrics?.[k] === undefined ? '—' : v.metrics[k].toFixed(4)).padEnd(17)).join('');
    io.text(`${`v${v.version}`.padEnd(8)}${v.stage.padEnd(12)}${cells}${(v.mlflow?.tags.model_family ?? '—').padEnd(24)}${v.stage_changed_at ?? '—'}`);
  }
  if (versions.some((v) => v.metrics_source === null))
    io.text('— : no metrics known to the service for that version (it was not trained through it, and no promotion has evaluated it yet)');
  return 0;
}

/**
 * A version's holdout metrics, from what the REST API knows: the version's own metrics when the API gives them,
 * else the training run that produced it, else the metric gates of its newest promotion request.
 */
function metricsOf(
  v: VersionView,
  runs: TrainingRunView[],
  promotions: PromotionView[],
): { metrics: Record<string, number> | null; metrics_source: 'version' | 'training_run' | 'promotion_gates' | null } {
  if (v.metrics) return { metrics: v.metrics, metrics_source: 'version' };
  const run = runs.find((r) => r.model_version === v.version && r.metrics);
  if (run?.metrics) return { metrics: run.metrics, metrics_source: 'training_run' };
  const request = promotions.find((p) => p.version === v.version); // newest first
  const fromGates = Object.fromEntries(
    (request?.gates ?? []).filter((g) => g.name.startsWith('metric:') && typeof g.value === 'number').map((g) => [g.name.slice(7), g.value as number]),
  );
  if (Object.keys(fromGates).length > 0) return { metrics: fromGates, metrics_source: 'promotion_gates' };
  return { metrics: null, metrics_source: null };
}
