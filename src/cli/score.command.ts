import { apiClient, CliUsageError, option } from './api-client';
import { AppConfig } from '../config/config.schema';
import { CliIo } from './output';

interface BatchRunView {
  id: string;
  state: string;
  model_version: string | null;
  rows_total: number | null;
  rows_scored: number;
  rows_invalid: number;
  progress_percent: number | null;
  rows_per_second: number | null;
  tier_counts: Record<string, number>;
  high_risk_count: number;
  invalid_reasons: Record<string, number>;
  failure_reason: string | null;
  duration_seconds: number | null;
}

/**
 * `score --table NAME | --file NAME.csv [--wait]`: starts a batch-scoring run through the API and, with --wait, shows its progress.
 * Under --json the result is the run as GET /api/v1/batch-scoring/runs/:id returns it (the final one with --wait).
 */
export async function scoreCommand(config: AppConfig, args: string[], io: CliIo): Promise<number> {
  const out = io.progress;
  const { base: api, call } = apiClient(config);
  const table = option(args, 'table');
  const file = option(args, 'file');
  if ((table === undefined) === (file === undefined)) throw new CliUsageError('score needs exactly one of --table <name> or --file <name>.csv');
  const source = table !== undefined ? { type: 'table', table } : { type: 'file', path: file };
  let run = await call<BatchRunView>('POST', '/api/v1/batch-scoring/runs', { source, trigger: 'cli' });
  out.write(`batch-scoring run ${run.id} queued (model v${run.model_version})\n`);
  if (!args.includes('--wait')) {
    io.text(`follow it with: curl -H "x-api-key: …" ${api}/api/v1/batch-scoring/runs/${run.id}`);
    io.result(run);
    return 0;
  }
  const tty = Boolean(out.isTTY);
  let lastLine = '';
  for (;;) {
    const line = progressBar(run);
    if (tty) out.write(`\r${line}`);
    else if (line !== lastLine && (run.progress_percent === null || Math.floor(run.progress_percent / 10) !== Math.floor(percentOf(lastLine) / 10)))
      out.write(`${line}\n`);
    lastLine = line;
    if (!['queued', 'running'].includes(run.state)) break;
    await new Promise((r) => setTimeout(r, 500));
    run = await call<BatchRunView>('GET', `/api/v1/batch-scoring/runs/${run.id}`);
  }
  if (tty) out.write('\n');
  io.text(summary(run));
  io.result(run);
  return run.state === 'succeeded' ? 0 : 1;
}

/** `[#########...........]  45.0%  450,000 / 1,000,000 rows  52,310 rows/s` */
export function progressBar(
  run: Pick<BatchRunView, 'state' | 'rows_total' | 'rows_scored' | 'rows_invalid' | 'progress_percent' | 'rows_per_second'>,
  width = 30,
): string {
  const pct = run.progress_percent ?? 0;
  const done = Math.min(width, Math.round((pct / 100) * width));
  const n = (v: number) => v.toLocaleString('en-US');
  const processed = run.rows_scored + run.rows_invalid;
  return (
    `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${pct.toFixed(1).padStart(5)}%  ` +
    `${n(processed)} / ${run.rows_total === null ? '?' : n(run.rows_total)} rows` +
    `${run.rows_per_second ? `  ${n(run.rows_per_second)} rows/s` : ''}  ${run.state}`
  );
}

function percentOf(line: string): number {
  const m = line.match(/(\d+\.\d)%/);
  return m ? Number(m[1]) : -100;
}

function summary(run: BatchRunView): string {
  const lines = [`run ${run.id}: ${run.state}${run.duration_seconds !== null ? ` in ${run.duration_seconds} s` : ''}`];
  lines.push(`rows scored: ${run.rows_scored}; invalid: ${run.rows_invalid}`);
  lines.push(
    `tiers: ${Object.entries(run.tier_counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')} (high risk: ${run.high_risk_count})`,
  );
  for (const [reason, count] of Object.entries(run.invalid_reasons)) lines.push(`  invalid ${count}× ${reason}`);
  if (run.failure_reason) lines.push(`reason: ${run.failure_reason}`);
  return `${lines.join('\n')}\n`;
}
