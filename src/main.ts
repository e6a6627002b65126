import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { HttpDrain } from './common/http/http-drain';
import { BootstrapLogger } from './common/logging/bootstrap-logger';
import { logDestination } from './common/logging/logging.module';
import { ConfigError, loadConfig } from './config/config';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';
import { runMigrations } from './database/migrations';
import { missingAuditKey } from './modules/audit/audit-key';

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
   * group and installs no signal handler): requests drain, then the app closes (its shutdown hooks flush
   * the prediction log to Postgres), and only then Postgres stops.
   */
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining requests and shutting down`);
    let code = 0;
    try {
      if (drain) {
        const { forced } = await drain.drain(config.SHUTDOWN_DRAIN_TIMEOUT_MS);
        if (forced > 0) logger.warn(`closed ${forced} connection(s) still open after SHUTDOWN_DRAIN_TIMEOUT_MS (${config.SHUTDOWN_DRAIN_TIMEOUT_MS} ms)`);
      }
      await app?.close();
    } catch (err) {
      code = 1;
      logger.error(`shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      await embedded?.stop().catch((err) => logger.error(`stopping embedded PostgreSQL failed: ${String(err)}`));
      try {
        logDestination.flushSync();
      } catch {
        /* nothing buffered or stdout already closed */
      }
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    if (config.localMode) embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { detached: true });
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

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
