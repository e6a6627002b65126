import { apiClient, CliUsageError, option } from './api-client';
import { AppConfig } from '../config/config.schema';
import { CliIo } from './output';

export const TRAINER_PHASES = ['load_data', 'validate', 'features', 'train', 'evaluate', 'export', 'register', 'compare'];

interface RunView {
  id: string;
  state: string;
  phase: string | null;
  model_version: string | null;
  metrics: Record<string, number> | null;
  gates: { name: string; op: string; threshold: number; value: number | null; passed: boolean }[] | null;
  staged: boolean;
  failure_reason: string | null;
  duration_seconds: number | null;
  mlflow_run_url: string | null;
}

function intOption(args: string[], name: string): number | undefined {
  const v = option(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliUsageError(`--${name} must be a whole number`);
  return Number(v);
}

/**
 * `train [--wait] [--model NAME] [--n-customers N] [--seed N] [--model-family F] [--data-source S]`: starts a run through the API.
 * Under --json the result is the run as GET /api/v1/training/runs/:id returns it (the final one with --wait).
 */
export async function trainCommand(config: AppConfig, args: string[], io: CliIo): Promise<number> {
  const out = io.progress;
  const { base: api, call } = apiClient(config);
  const body = {
    model_name: option(args, 'model'),
    n_customers: intOption(args, 'n-customers'),
    seed: intOption(args, 'seed'),
    model_family: option(args, 'model-family'),
    data_source: option(args, 'data-source'),
  };
  let run = await call<RunView>('POST', '/api/v1/training/runs', body);
  out.write(`training run ${run.id} queued\n`);
  if (!args.includes('--wait')) {
    io.text(`follow it with: curl -H "x-api-key: …" ${api}/api/v1/training/runs/${run.id}`);
    io.result(run);
    return 0;
  }
  let shown = '';
  for (;;) {
    const phase = run.phase ?? run.state;
    if (phase !== shown) {
      shown = phase;
      out.write(`${progressLine(run)}\n`);
    }
    if (!['queued', 'running'].includes(run.state)) break;
    await new Promise((r) => setTimeout(r, 1000));
    run = await call<RunView>('GET', `/api/v1/training/runs/${run.id}`);
  }
  io.text(summary(run));
  io.result(run);
  return run.state === 'succeeded' ? 0 : 1;
}

export function progressLine(run: Pick<RunView, 'phase' | 'state'>): string {
  const index = run.phase ? TRAINER_PHASES.indexOf(run.phase) : -1;
  const done = index + 1;
  const width = TRAINER_PHASES.length;
  const bar = `${'#'.repeat(Math.max(done, 0))}${'.'.repeat(width - Math.max(done, 0))}`;
  return `[${bar}] ${index >= 0 ? `${done}/${width} ${run.phase}` : run.state}`;
}

function summary(run: RunView): string {
  const lines = [`\nrun ${run.id}: ${run.state}${run.duration_seconds !== null ? ` in ${run.duration_seconds} s` : ''}`];
  if (run.model_version) lines.push(`model version: ${run.model_version}${run.staged ? ' (moved to Staging)' : ' (not staged)'}`);
  for (const g of run.gates ?? []) lines.push(`  ${g.passed ? 'PASS' : 'FAIL'}  ${g.name} = ${g.value ?? 'n/a'} (must be ${g.op} ${g.threshold})`);
  if (run.failure_reason) lines.push(`reason: ${run.failure_reason}`);
  if (run.mlflow_run_url) lines.push(`MLflow: ${run.mlflow_run_url}`);
  return `${lines.join('\n')}\n`;
}
