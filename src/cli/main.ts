import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { IsNull, Repository } from 'typeorm';
import { BACKUP_USAGE, backupCommand } from './backup.command';
import { scoreCommand } from './score.command';
import { ApiCall, apiClient, CliUsageError as UsageError, option } from './api-client';
import { errorDocument, errorText } from './errors';
import { decideCommand, GOVERNANCE_USAGE, promoteCommand, promotionsCommand } from './governance.command';
import { MODELS_USAGE, modelsCommand } from './models.command';
import { CliIo, cliIo, takeJsonFlag } from './output';
import { trainCommand } from './train.command';
import { ApiKeyEntity } from '../modules/api-keys/api-key.entity';
import { ApiKeysService, toKeyView } from '../modules/api-keys/api-keys.service';
import { ROLES, Role } from '../common/auth/roles';
import { BootstrapLogger } from '../common/logging/bootstrap-logger';
import { loadConfig } from '../config/config';
import { AppConfig } from '../config/config.schema';
import { createDataSource } from '../database/data-source';
import { embeddedDatabaseUrl, EmbeddedDatabase, startEmbeddedPostgres } from '../database/embedded-postgres';
import { walArchivingPlan } from '../modules/backup/wal/wal-archiving';
import { runMigrations } from '../database/migrations';
import { loadAuditKey } from '../modules/audit/audit-key';
import { AuditService, ExpectedHead } from '../modules/audit/audit.service';
import { anchoredAuditHead } from '../modules/backup/catalog';
import { createBackupStores } from '../modules/backup/storage/backup-stores';
import { BackupStore } from '../modules/backup/storage/backup-store';

const USAGE = `usage: npm run cli -- <command> [--json]
  --json: stdout carries one JSON document (the result, or the error as problem+json with a hint); progress goes to stderr.
         (npm run -s cli -- ... keeps npm's own banner off stdout.)
  Exit codes: 0 done, 1 failed (the error, a failed run, a blocked promotion, a broken audit chain), 2 usage or setup, 3 severe drift.
${MODELS_USAGE}
${GOVERNANCE_USAGE}
  train [--wait] [--model <name>] [--n-customers <n>] [--seed <n>] [--model-family auto|logistic_regression|hist_gradient_boosting] [--data-source synthetic|<file>]
  score --table <name> | --file <name>.csv [--wait]   batch-score a customer table with the Production model (progress bar with --wait)
  rollback [--model <name>] --reason <text>   restore the previous Production version
  keys create --role <${ROLES.join('|')}> [--name <name>] [--model <model name>] [--expires-in-days <n>]
  keys list
  keys revoke <key id>
  audit verify [--expected-head-seq <n> --expected-head-hash <hex>]   recompute the audit log's hash chain and check that the head
                               the newest backup manifest keeps (and the one you pass) is still in it; exit code 1 when it is broken or truncated
${BACKUP_USAGE}
  migrate                      apply pending schema migrations (under an advisory lock; the service also does it at start)
  drift run [--model <name>] [--version <n>] [--window 24h|7d]   analyse logged predictions vs the reference profile now; exit code 3 on severe drift`;

/** The database the service uses; in local mode the running embedded cluster, or a temporary start of it. */
async function openDatabase(config: AppConfig): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const url = embeddedDatabaseUrl(config.DATA_DIR, config.EMBEDDED_PG_PORT);
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    await probe.end();
    return { url };
  } catch {
    // Archived like the service's start: WAL written while the CLI runs must not leave a gap in the archive.
    const wal = walArchivingPlan(config);
    const embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { archiving: wal.on ? wal.archiving : undefined });
    return { url: embedded.url, embedded };
  }
}

async function keys(service: ApiKeysService, repo: Repository<ApiKeyEntity>, args: string[], io: CliIo): Promise<void> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create': {
      const role = option(rest, 'role') as Role | undefined;
      if (!role || !ROLES.includes(role)) throw new UsageError(`--role must be one of: ${ROLES.join(', ')}`);
      const days = option(rest, 'expires-in-days');
      if (days !== undefined && !(Number(days) > 0)) throw new UsageError('--expires-in-days must be a positive number');
      const { key, record } = await service.create({
        name: option(rest, 'name') ?? `${role}-key`,
        role,
        modelName: option(rest, 'model') ?? null,
        expiresAt: days ? new Date(Date.now() + Number(days) * 86_400_000) : null,
      });
      io.result({ ...toKeyView(record), key });
      io.text(
        `Created ${record.role} key ${record.id}${record.modelName ? ` for model ${record.modelName}` : ''}. Store it now; it cannot be shown again:\n${key}`,
      );
      return;
    }
    case 'list': {
      const views = (await repo.find({ order: { createdAt: 'ASC' } })).map(toKeyView);
      io.result({ keys: views });
      for (const k of views) io.text(`${k.id}  ${k.role.padEnd(8)}  ${k.state.padEnd(7)}  ${k.name}${k.model_name ? `  model=${k.model_name}` : ''}`);
      return;
    }
    case 'revoke': {
      const id = rest[0];
      if (!id) throw new UsageError('keys revoke needs a key id');
      const result = await repo.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
      if (!result.affected) throw new UsageError(`no active key with id ${id}`);
      io.result(toKeyView(await repo.findOneByOrFail({ id })));
      io.text(`Revoked key ${id} (replicas stop accepting it within 30 s).`);
      return;
    }
    default:
      throw new UsageError(`unknown keys command '${action ?? ''}'`);
  }
}

/** Returns the process exit code: 1 when the audit chain is broken or truncated. */
async function audit(service: AuditService, stores: BackupStore[], args: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'verify') throw new UsageError(`unknown audit command '${action ?? ''}'`);
  const anchored = await anchoredAuditHead(stores[0]).catch((err) => {
    process.stderr.write(`warning: the backup manifests could not be read (${(err as Error).message}); the chain is checked without their head\n`);
    return null;
  });
  if (anchored) io.text(`Checking against the head kept by ${anchored.source}: entry ${anchored.seq}`);
  const result = await service.verify([...expectedHead(rest), ...(anchored ? [{ seq: anchored.seq, hash: anchored.hash }] : [])]);
  io.result({ ...result, anchored_head: anchored ? { source: anchored.source, seq: anchored.seq, hash: anchored.hash } : null });
  io.text(JSON.stringify(result));
  if (result.valid) {
    const schemes = result.segments.map((s) => `${s.entries} ${s.scheme} (ids ${s.first_id}-${s.last_id})`).join(', ');
    io.text(`Audit chain valid: ${result.checked} entries checked${schemes ? `: ${schemes}` : ''}.`);
    if (result.head) io.text(`Head: --expected-head-seq ${result.head.seq} --expected-head-hash ${result.head.hash} (keep it outside the database)`);
    return 0;
  }
  const b = result.first_broken!;
  process.stderr.write(`Audit chain BROKEN at entry ${b.seq}${b.id ? ` (id ${b.id})` : ''}: ${b.reason}\n`);
  return 1;
}

function expectedHead(args: string[]): ExpectedHead[] {
  const seq = option(args, 'expected-head-seq');
  const hash = option(args, 'expected-head-hash');
  if (seq === undefined && hash === undefined) return [];
  if (seq === undefined || !/^[1-9][0-9]{0,15}$/.test(seq))
    throw new UsageError('--expected-head-seq must be a positive integer (head.seq of an earlier verification), given with --expected-head-hash');
  if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash))
    throw new UsageError('--expected-head-hash must be 64 lowercase hex characters (head.hash), given with --expected-head-seq');
  return [{ seq: Number(seq), hash }];
}

async function main(argv: string[], io: CliIo): Promise<void> {
  const config = loadConfig();
  Logger.overrideLogger(new BootstrapLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL));
  const [group, ...rest] = argv;
  // Built at the first call, so that a usage mistake is reported before a missing key.
  const call: ApiCall = (method, url, payload) => apiClient(config).call(method, url, payload);
  if (group === 'models') {
    process.exitCode = await modelsCommand(call, rest, io);
    return;
  }
  if (group === 'promote') {
    process.exitCode = await promoteCommand(call, rest, io);
    return;
  }
  if (group === 'approve' || group === 'reject') {
    process.exitCode = await decideCommand(call, group, rest, io);
    return;
  }
  if (group === 'promotions') {
    process.exitCode = await promotionsCommand(call, rest, io);
    return;
  }
  if (group === 'rollback') {
    const reason = option(rest, 'reason');
    if (!reason) throw new UsageError('rollback needs --reason "<why>" (it is recorded in the audit trail)');
    const model = option(rest, 'model') ?? config.SERVING_MODEL_NAME;
    const { call } = apiClient(config);
    const r = await call<{ rolled_back_from: string | null; rolled_back_to: string }>('POST', `/api/v1/models/${encodeURIComponent(model)}/rollback`, {
      reason,
    });
    io.result({ model_name: model, ...r });
    io.text(`${model}: Production is now v${r.rolled_back_to} (was v${r.rolled_back_from ?? 'none'})`);
    return;
  }
  if (group === 'train') {
    process.exitCode = await trainCommand(config, rest, io);
    return;
  }
  if (group === 'drift') {
    if (rest[0] !== 'run') throw new UsageError(`unknown drift command '${rest[0] ?? ''}'`);
    const window = option(rest, 'window');
    if (window !== undefined && window !== '24h' && window !== '7d') throw new UsageError('--window must be 24h or 7d');
    const { call } = apiClient(config);
    const r = await call<{
      id: string;
      model_name: string;
      version: string;
      window: string;
      status: string;
      severe: boolean;
      n_current: number;
      score_psi: number | null;
      features: { feature: string; psi: number | null; verdict: string }[];
      retrain: { started: boolean; reason: string } | null;
    }>('POST', '/api/v1/drift/runs', { model_name: option(rest, 'model'), version: option(rest, 'version'), window, trigger: 'cli' });
    const f = (v: number | null) => (v === null ? '—' : v.toFixed(4));
    io.result(r);
    io.text(`drift report ${r.id}: ${r.model_name} v${r.version}, ${r.window}, ${r.n_current} predictions → ${r.status}${r.severe ? ' (severe)' : ''}`);
    io.text(`  ${'score'.padEnd(18)} PSI ${f(r.score_psi)}`);
    for (const x of r.features) io.text(`  ${x.feature.padEnd(18)} PSI ${f(x.psi)}  ${x.verdict}`);
    if (r.retrain) io.text(`retrain ${r.retrain.started ? 'started' : 'not started'}: ${r.retrain.reason}`);
    io.text(`HTML: GET /api/v1/drift/reports/${r.id}/html`);
    process.exitCode = r.severe ? 3 : 0;
    return;
  }
  if (group === 'backup') {
    process.exitCode = await backupCommand(config, rest, io);
    return;
  }
  if (group === 'score') {
    process.exitCode = await scoreCommand(config, rest, io);
    return;
  }
  if (group !== 'keys' && group !== 'audit' && group !== 'migrate') throw new UsageError(group ? `unknown command '${group}'` : 'no command given');
  const { url, embedded } = await openDatabase(config);
  if (group === 'migrate') {
    try {
      const applied = await runMigrations(url);
      io.result({ applied });
      io.text(applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'the schema is up to date');
    } finally {
      await embedded?.stop();
    }
    return;
  }
  const ds = createDataSource(url, 2);
  try {
    await runMigrations(url);
    await ds.initialize();
    if (group === 'audit') {
      process.exitCode = await audit(new AuditService(ds, loadAuditKey(config)), createBackupStores(config), rest, io);
      return;
    }
    const repo = ds.getRepository(ApiKeyEntity);
    await keys(new ApiKeysService(repo), repo, rest, io);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
  }
}

const { json, args } = takeJsonFlag(process.argv.slice(2));
main(args, cliIo(json)).catch((err) => {
  const doc = errorDocument(err);
  if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stderr.write(errorText(err, USAGE));
  process.exit(Number(doc.exit_code));
});
