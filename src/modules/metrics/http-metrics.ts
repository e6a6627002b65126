import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, register } from 'prom-client';

/** Request count and duration per route template, recorded in Fastify hooks (no per-request Nest work). */
export function registerHttpMetrics(fastify: FastifyInstance): void {
  // Reuse the metrics when a second app is created in the same process (tests).
  const requests =
    (register.getSingleMetric('http_requests_total') as Counter | undefined) ??
    new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [register],
    });
  const duration =
    (register.getSingleMetric('http_request_duration_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [register],
    });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
}
