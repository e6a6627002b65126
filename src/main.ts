import './module-paths'; // must stay relative: it is what makes `src/...` resolvable
import { Logger } from '@nestjs/common';
import { createApp } from 'src/app.factory';
import { BootstrapLogger } from 'src/common/logging/bootstrap-logger';
import { logDestination } from 'src/common/logging/logging.module';
import { ConfigError, loadConfig } from 'src/config/config';
import { EmbeddedDatabase, startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { runMigrations } from 'src/database/migrations';

async function main(): Promise<void> {
  const logger = new Logger('Main');
  const config = loadConfig();
  Logger.overrideLogger(new BootstrapLogger(config.LOG_LEVEL));
  let embedded: EmbeddedDatabase | undefined;
  if (config.localMode) embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT);
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;

  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining requests and shutting down`);
    try {
      await app?.close();
    } finally {
      await embedded?.stop();
      try {
        logDestination.flushSync();
      } catch {
        /* nothing buffered or stdout already closed */
      }
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    await runMigrations(databaseUrl);
    app = await createApp(config, databaseUrl);
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
