import { ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { FieldError, ValidationFailedError } from './app-error';

/** Deeper JSON than this is refused before class-transformer walks it recursively. */
export const MAX_JSON_DEPTH = 32;

const NOT_DTOS: unknown[] = [String, Boolean, Number, Array, Object];

/**
 * The global pipe of every controller argument: class-validator DTOs (unknown properties stripped),
 * and the checks a DTO cannot express:
 * - a declared body is required and must be a JSON object;
 * - no string, in the body, the query or the path, carries a NUL character (Postgres text cannot store it);
 * - a body nests at most MAX_JSON_DEPTH levels.
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, transform: true, exceptionFactory: (errors) => new ValidationFailedError(flatten(errors)) });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'custom') return value;
    const isDto = typeof metadata.metatype === 'function' && !NOT_DTOS.includes(metadata.metatype);
    if (metadata.type === 'body' && isDto) {
      if (value === undefined || value === null) {
        throw new ValidationFailedError([{ field: 'body', message: 'a JSON object body is required (Content-Type: application/json)' }]);
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ValidationFailedError([
          { field: 'body', message: `the body must be a JSON object, not ${Array.isArray(value) ? 'an array' : typeof value}` },
        ]);
      }
    }
    const bad = findUnstorable(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (bad) throw new ValidationFailedError([bad]);
    return super.transform(value, metadata);
  }
}

/** Walks a parsed value without recursion: the first NUL character, or nesting beyond MAX_JSON_DEPTH. */
function findUnstorable(value: unknown, root: string): FieldError | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { field: path || 'body', message: 'must not contain the NUL character (\\u0000)' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) return { field: path || 'body', message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, child] of Object.entries(v)) {
      const childPath = Array.isArray(v) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return { field: path || 'body', message: 'property names must not contain the NUL character (\\u0000)' };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((message) => ({ field: `${prefix}${e.property}`, message })),
    ...flatten(e.children ?? [], `${prefix}${e.property}.`),
  ]);
}
