import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createApp } from './app.factory';
import { HttpDrain } from './common/http/http-drain';
import { BootstrapLogger } from './common/logging/bootstrap-logger';
import { logDestination } from './common/logging/logging.module';
import { ConfigError, loadConfig } from './config/config';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';
import { walArchivingPlan } from './modules/backup/wal/wal-archiving';
import { runMigrations } from './database/migrations';
import { missingAuditKey } from './modules/audit/audit-key';
import { PredictionLogService } from './modules/prediction-log/prediction-log.service';

async function main(): Promise<void> {
  const logger = new Logger('Main');
  const config = loadConfig();
  Logger.overrideLogger(new BootstrapLogger(config.LOG_LEVEL));
  if (!config.localMode && !config.AUDIT_HMAC_KEY) throw missingAuditKey();

  let embedded: EmbeddedDatabase | undefined;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let drain: HttpDrain | undefined;
  let stopping = false;
  /**
   * The shutdown order, which nothing else may pre-empt (the embedded Postgres runs in its own process
   * group and installs no signal handler): requests drain; the prediction log puts every answered
   * prediction in Postgres or the spill file (within PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS); then the app
   * closes and only then Postgres stops, both within SHUTDOWN_HARD_DEADLINE_MS, since closing can wait
   * forever on a Postgres that does not answer (the pool ends only when its queries do).
   */
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining requests and shutting down`);
    let code = 0;
    let spillDir = '';
    try {
      if (drain) {
        const { forced } = await drain.drain(config.SHUTDOWN_DRAIN_TIMEOUT_MS);
        if (forced > 0) logger.warn(`closed ${forced} connection(s) still open after SHUTDOWN_DRAIN_TIMEOUT_MS (${config.SHUTDOWN_DRAIN_TIMEOUT_MS} ms)`);
      }
      const predictionLog = app?.get(PredictionLogService);
      await predictionLog?.shutdown();
      spillDir = (await predictionLog?.status())?.spill_dir ?? '';
    } catch (err) {
      code = 1;
      logger.error(`shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    let step = 'closing the app';
    const closed = await withinDeadline(config.SHUTDOWN_HARD_DEADLINE_MS, async () => {
      try {
        await app?.close();
      } catch (err) {
        code = 1;
        logger.error(`shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      step = 'stopping the embedded PostgreSQL';
      await embedded?.stop().catch((err) => logger.error(`stopping embedded PostgreSQL failed: ${String(err)}`));
    });
    if (!closed) {
      code = 1;
      logger.error(
        `SHUTDOWN_HARD_DEADLINE_MS (${config.SHUTDOWN_HARD_DEADLINE_MS} ms) passed while ${step}: abandoned it${step === 'closing the app' ? databasePoolState(app) : ''}. ` +
          `Answered predictions were already flushed to Postgres or spilled to ${spillDir || 'the spill directory'} (replayed at the next start); exiting with code 1`,
      );
    }
    try {
      logDestination.flushSync();
    } catch {
      /* nothing buffered or stdout already closed */
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    const wal = walArchivingPlan(config);
    logger.log(wal.summary);
    if (config.localMode)
      embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { detached: true, archiving: wal.on ? wal.archiving : undefined });
    const databaseUrl = config.DATABASE_URL ?? embedded!.url;
    await runMigrations(databaseUrl);
    app = await createApp(config, databaseUrl);
    drain = new HttpDrain(app.getHttpServer() as Server);
    await app.listen({ port: config.PORT, host: config.HOST });
    logger.log(`listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
  } catch (err) {
    await app?.close().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
}

/** Runs `step`; false when it has not finished within `ms` (it is then left running, abandoned). */
async function withinDeadline(ms: number, step: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([step().then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the database pool still holds, for the log of an abandoned close (its end waits for every busy connection). */
function databasePoolState(app: { get(token: unknown): unknown } | undefined): string {
  try {
    const pool = (app?.get(DataSource) as DataSource | undefined)?.driver as { master?: { totalCount?: number; idleCount?: number } } | undefined;
    const total = pool?.master?.totalCount;
    if (typeof total !== 'number') return '';
    return ` (the database pool still had ${total - (pool?.master?.idleCount ?? 0)} of ${total} connection(s) busy; its end waits for their queries)`;
  } catch {
    return '';
  }
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
