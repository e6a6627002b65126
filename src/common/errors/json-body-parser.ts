import type { FastifyInstance } from 'fastify';
import { ValidationFailedError } from './app-error';

/**
 * Fastify's own JSON parser (same prototype-poisoning protection and body limit), whose errors
 * (an empty body, JSON that does not parse) become a 400 naming `body`, like any invalid field.
 * Nest would otherwise turn them into bare framework errors without the field.
 */
export function parseJsonBodies(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (!err) return done(null, value);
      const message = String(body).length === 0 ? 'a JSON body is required; this one is empty' : `the body is not valid JSON (${err.message})`;
      done(new ValidationFailedError([{ field: 'body', message }]), undefined);
    });
  });
}
