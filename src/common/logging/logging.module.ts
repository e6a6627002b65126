import { DynamicModule, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../../config/config.schema';

const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/**
 * Log lines are written asynchronously so that a request never waits for stdout; main.ts flushes
 * what is buffered before the process exits.
 */
export const logDestination = pino.destination({ dest: 1, sync: false });

/** JSON logs on stdout; each request line carries its request id (X-Request-Id) and the API key id. */
export function loggingModule(config: AppConfig): DynamicModule {
  return LoggerModule.forRoot({
    // The prediction routes keep their own record of every request (the prediction log) and log their
    // failures themselves (predict.routes.ts): a child logger and a line per request cost ~6 % of /predict.
    exclude: [
      { method: RequestMethod.POST, path: 'predict' },
      { method: RequestMethod.POST, path: 'predict/batch' },
    ],
    pinoHttp: {
      level: config.LOG_LEVEL,
      stream: logDestination,
      // Fastify assigns the id (see main.ts) and stores it on the raw request.
      genReqId: (req) => req.id as string,
      customProps: (req) => ({ requestId: req.id }),
      autoLogging: { ignore: (req) => QUIET_ROUTES.has(((req as { originalUrl?: string }).originalUrl ?? req.url ?? '').split('?')[0]) },
      // The problem filter already logs failures; one line per request is enough.
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'warn' : 'info'),
      customErrorObject: (_req, _res, _err, value) => ({ ...value, err: undefined }),
      redact: { paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactCustomerId(req.url) }),
      },
    },
  });
}

/** A raw customer id in a path (DELETE /api/v1/customers/{id}) never reaches the logs: PII is hashed or left out. */
export function redactCustomerId(url: string): string {
  return url.replace(/^(\/api\/v1\/customers\/)[^?]+/, '$1[redacted]');
}
