import { LoggerService } from '@nestjs/common';
import pino from 'pino';

/**
 * JSON logger for the phase before Nest's own (nestjs-pino) logger exists: configuration, embedded
 * Postgres, migrations. Same line format as the request logs.
 */
export class BootstrapLogger implements LoggerService {
  private readonly pino: pino.Logger;

  constructor(level: string) {
    this.pino = pino({ level });
  }

  log(message: unknown, context?: string) {
    this.pino.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.pino.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.pino.trace({ context }, String(message));
  }
}
