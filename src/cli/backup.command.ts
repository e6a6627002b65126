import { AppConfig } from '../config/config.schema';
import { completeBackupIds, readManifest } from '../modules/backup/catalog';
import { manifestObjects } from '../modules/backup/manifest';
import { restoreBackup } from '../modules/backup/restore/restore';
import { createBackupStores } from '../modules/backup/storage/backup-stores';
import { BackupDestination } from '../modules/backup/storage/backup-store';
import { apiClient, CliUsageError, option } from './api-client';
import { CliIo } from './output';

export const BACKUP_USAGE = `  backup run [--kind full|database|artifacts]   take a backup now through the service (progress bar); exit code 1 when it fails
  backup list [--from local|s3]   complete backups in a destination (read from the store: works with the service down)
  backup restore <id|latest> [--to-time <ISO>|latest] [--target <postgres URL>] [--from local|s3] [--dry-run] [--force]
                               restore our database, MLflow's store and artifacts to one consistent point (service and MLflow stopped)
  backup verify                run the restore drill now (restore into scratch copies, verify, record the RTO); exit code 1 when it fails`;

interface JobView {
  id: string;
  state: string;
  last_error: string | null;
  progress: { step?: string; done?: number; total?: number; [k: string]: unknown } | null;
}

/**
 * `backup run|list|restore|verify`. Returns the exit code. Under --json the result is the finished job (run),
 * `{ job, drill }` (verify), `{ destinations }` (list) or the restore report (restore).
 */
export async function backupCommand(config: AppConfig, args: string[], io: CliIo): Promise<number> {
  const out = io.progress;
  const [action, ...rest] = args;
  switch (action) {
    case 'run': {
      const kind = option(rest, 'kind') ?? 'full';
      if (!['full', 'database', 'artifacts'].includes(kind)) throw new CliUsageError('--kind must be full, database or artifacts');
      const { call } = apiClient(config);
      const { job } = await call<{ job: JobView }>('POST', '/api/v1/backups', { kind });
      out.write(`backup job ${job.id} queued (${kind})\n`);
      const done = await follow(call, job.id, out);
      io.result(done);
      if (done.state !== 'succeeded') {
        io.text(`backup failed: ${done.last_error ?? done.state}`);
        return 1;
      }
      io.text(`backup ${String(done.progress?.backup_id ?? '')} complete`);
      return 0;
    }
    case 'verify': {
      const { call } = apiClient(config);
      const { job } = await call<{ job: JobView }>('POST', '/api/v1/backups/drills');
      out.write(`restore drill job ${job.id} queued\n`);
      const done = await follow(call, job.id, out);
      const { drills } = await call<{
        drills: { id: string; status: string; backup_id: string; rto_seconds: number; checks: { name: string; ok: boolean; detail: string }[] }[];
      }>('GET', '/api/v1/backups/drills?limit=1');
      const d = drills[0];
      io.result({ job: done, drill: d ?? null });
      if (d) {
        io.text(`drill ${d.id} of backup ${d.backup_id}: ${d.status.toUpperCase()} in ${d.rto_seconds?.toFixed(1)} s (measured RTO)`);
        for (const c of d.checks) io.text(`  ${c.ok ? 'ok    ' : 'FAILED'} ${c.name}: ${c.detail}`);
      }
      return done.state === 'succeeded' ? 0 : 1;
    }
    case 'list': {
      const from = destination(option(rest, 'from'));
      const stores = createBackupStores(config).filter((s) => !from || s.kind === from);
      if (stores.length === 0) throw new CliUsageError(`no ${from} destination is configured${from === 's3' ? ' (set BACKUP_S3_BUCKET)' : ''}`);
      const destinations = [];
      for (const store of stores) {
        const ids = await completeBackupIds(store);
        io.text(`${store.location}: ${ids.length} complete backup(s)`);
        const backups = [];
        for (const id of ids.reverse()) {
          const m = await readManifest(store, id);
          const bytes = manifestObjects(m).reduce((s, o) => s + o.ref.size, 0);
          const production = (m.registry ?? []).filter((v) => v.stage === 'Production').map((v) => ({ name: v.name, version: v.version }));
          backups.push({ id, kind: m.kind, consistent_at: m.consistent_at, bytes, production });
          io.text(
            `  ${id}  ${m.kind.padEnd(9)}  consistent at ${m.consistent_at}  ${formatBytes(bytes).padStart(9)}${production.length ? `  Production: ${production.map((v) => `${v.name} v${v.version}`).join(', ')}` : ''}`,
          );
        }
        destinations.push({ kind: store.kind, location: store.location, backups });
      }
      io.result({ destinations });
      return 0;
    }
    case 'restore': {
      const id = rest[0];
      if (!id || id.startsWith('--')) throw new CliUsageError('backup restore needs a backup id (or `latest`); list them with `backup list`');
      const toTimeText = option(rest, 'to-time');
      let toTime: Date | 'latest' | undefined;
      if (toTimeText === 'latest') toTime = 'latest';
      else if (toTimeText !== undefined) {
        toTime = new Date(toTimeText);
        if (Number.isNaN(toTime.getTime())) throw new CliUsageError('--to-time must be an ISO 8601 time such as 2026-12-04T10:15:00Z, or latest');
      }
      const report = await restoreBackup(config, {
        id,
        from: destination(option(rest, 'from')),
        toTime,
        targetDatabaseUrl: option(rest, 'target'),
        dryRun: rest.includes('--dry-run'),
        force: rest.includes('--force'),
        progress: progressPrinter(out),
      });
      io.result(report);
      io.text(JSON.stringify(report));
      if (report.dry_run) {
        io.text(
          `Dry run: all ${report.objects} objects of ${report.backup} (${formatBytes(report.bytes)}) are in ${report.store} and match their sha256. Nothing was changed.`,
        );
      } else {
        io.text(
          `Restored ${report.backup}: our database (${report.database?.method}${report.database?.to_time ? ` to ${report.database.to_time}` : ''}), MLflow's store and ${report.artifacts?.files ?? 0} artifacts. ` +
            `Audit chain verified (${report.audit?.entries} entries).\n` +
            `Next: start MLflow and the service (npm run up). At start the service replays ${report.erasures_to_replay ?? 0} erasure(s) from the erasure log and mirrors the restored stages into MLflow.`,
        );
      }
      return 0;
    }
    default:
      throw new CliUsageError(`unknown backup command '${action ?? ''}'`);
  }
}

function destination(value: string | undefined): BackupDestination | undefined {
  if (value === undefined) return undefined;
  if (value !== 'local' && value !== 's3') throw new CliUsageError('--from must be local or s3');
  return value;
}

/** Polls a job, drawing its progress, until it ends. */
async function follow(call: ReturnType<typeof apiClient>['call'], id: string, out: NodeJS.WriteStream): Promise<JobView> {
  const draw = progressPrinter(out);
  let last = '';
  for (;;) {
    const job = await call<JobView>('GET', `/api/v1/jobs/${id}`);
    const p = job.progress;
    const line = `${p?.step ?? job.state}|${p?.done ?? ''}|${p?.total ?? ''}`;
    if (line !== last && p?.step) draw(String(p.step), typeof p.done === 'number' ? p.done : undefined, typeof p.total === 'number' ? p.total : undefined);
    last = line;
    if (!['queued', 'running'].includes(job.state)) {
      if (out.isTTY) out.write('\n');
      return job;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `[##########..........]  50%  downloading and checking every object (25/50)`: redrawn in place on a terminal, one line per step otherwise. */
export function progressPrinter(out: NodeJS.WriteStream, width = 24): (step: string, done?: number, total?: number) => void {
  let lastStep = '';
  return (step, done, total) => {
    const pct = total ? Math.min(1, (done ?? 0) / total) : undefined;
    const bar =
      pct === undefined
        ? ''
        : `[${'#'.repeat(Math.round(pct * width))}${'.'.repeat(width - Math.round(pct * width))}] ${String(Math.round(pct * 100)).padStart(3)}%  `;
    const line = `${bar}${step}${total ? ` (${done}/${total})` : ''}`;
    if (out.isTTY) out.write(`\r\x1b[K${line}`);
    else if (step !== lastStep || done === total) out.write(`${line}\n`);
    lastStep = step;
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
