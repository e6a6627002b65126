import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

/** The console is a static bundle: everything it runs comes from /console, everything it reads from our API. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';

/**
 * Serves the operator console (web/, built into CONSOLE_DIR) at /console: the built files, index.html for
 * any other non-asset path (client-side routes), hashed assets cached for good, index.html revalidated.
 * Public: the bundle holds no data; its API calls are authenticated like any other.
 */
@Injectable()
export class ConsoleRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const root = this.config.consoleDir;
    // serve: false: only reply.sendFile (ETag, Last-Modified, ranges, no path traversal); routing is ours.
    void fastify.register(fastifyStatic, { root, serve: false });
    const handler = (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => this.serve(root, request.params['*'] ?? '', request, reply);
    fastify.get('/console', handler);
    fastify.get('/console/*', handler);
  }

  private serve(root: string, rel: string, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    void reply.headers(CONSOLE_SECURITY_HEADERS);
    if (!fs.existsSync(path.join(root, 'index.html'))) {
      return reply
        .code(503)
        .type('application/problem+json')
        .send({
          type: 'https://churn-control-plane.dev/problems/console-not-built',
          title: 'Service unavailable',
          status: 503,
          detail: `The operator console is not built (no index.html in ${root}). Run \`npm run build:web\` (or \`npm run build\`), or set CONSOLE_DIR to the built console.`,
          code: 'CONSOLE_NOT_BUILT',
          instance: request.url.split('?')[0],
          request_id: request.id,
        });
    }
    const file = rel === '' ? undefined : resolveInside(root, rel);
    if (file && isFile(file)) {
      const hashed = rel.startsWith('assets/');
      return reply.header('cache-control', hashed ? IMMUTABLE : NO_CACHE).sendFile(rel, root, { cacheControl: false });
    }
    // A missing file with an extension is a missing asset, not a client-side route: a 404, not the app shell.
    if (path.extname(rel) !== '') {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({
          type: 'https://churn-control-plane.dev/problems/not-found',
          title: 'Not found',
          status: 404,
          detail: `The console has no file ${rel}; reload the console (it may have been rebuilt).`,
          code: 'NOT_FOUND',
          instance: request.url.split('?')[0],
          request_id: request.id,
        });
    }
    return reply.header('cache-control', NO_CACHE).sendFile('index.html', root, { cacheControl: false });
  }
}

function resolveInside(root: string, rel: string): string | undefined {
  const full = path.resolve(root, rel);
  return full.startsWith(root + path.sep) ? full : undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
