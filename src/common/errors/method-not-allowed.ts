import type { FastifyInstance } from 'fastify';
import { MethodNotAllowedError } from './app-error';
import { toProblem } from './problem-details.filter';
import { PROBLEM_CONTENT_TYPE } from './problem-responses.openapi';

/** The methods of every route, by path pattern (`:param` matches one segment, `*` the rest). */
export class RouteMethods {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | string[]): void {
    let route = this.routes.get(url);
    if (!route) {
      route = { pattern: toPattern(url), methods: new Set() };
      this.routes.set(url, route);
    }
    for (const m of [methods].flat()) route.methods.add(m.toUpperCase());
  }

  /** Methods some route accepts at this path, sorted; empty when no route has the path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.routes.values()) if (pattern.test(path)) ms.forEach((m) => methods.add(m));
    return [...methods].sort();
  }
}

function toPattern(url: string): RegExp {
  const body = url
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * A request whose path exists under other methods answers 405 with an Allow header (problem+json),
 * not 404. Call before any route is registered: it learns the routes from Fastify's onRoute hook.
 */
export function answerMethodNotAllowed(fastify: FastifyInstance): void {
  const routes = new RouteMethods();
  fastify.addHook('onRoute', (route) => routes.add(route.url, route.method));
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.url !== undefined) return done();
    const path = request.url.split('?')[0];
    const allowed = routes.allowed(path);
    if (allowed.length === 0) return done();
    const { problem, headers } = toProblem(new MethodNotAllowedError(request.method, path, allowed), path, request.id);
    void reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
  });
}
