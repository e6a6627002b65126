import { Role } from './roles';

/**
 * Where the model an operation acts on comes from. Every authenticated route declares one
 * (@ModelScoped), and the one authenticator enforces it before the handler or any validation runs:
 *
 * - `param` / `body`: the model named in the request; a body without the field means the served model.
 * - `query`: an optional filter; when absent, a model-scoped key is narrowed to its own model.
 * - `served`: the model this service serves (SERVING_MODEL_NAME), e.g. /predict and batch scoring.
 * - `resource`: the model of a stored resource (a run, a report); the owning service checks it with
 *   assertModelScope once it has loaded the resource, and list endpoints narrow to the key's model.
 * - `all-models`: the operation spans every model (API keys, outcome reports, webhook deliveries):
 *   a model-scoped key is refused.
 */
export type ModelSource =
  | { kind: 'param'; name: string }
  | { kind: 'query'; name: string }
  | { kind: 'body'; field: string }
  | { kind: 'served' }
  | { kind: 'resource' }
  | { kind: 'all-models' };

export const ModelFrom = {
  param: (name = 'name'): ModelSource => ({ kind: 'param', name }),
  query: (name = 'model_name'): ModelSource => ({ kind: 'query', name }),
  body: (field = 'model_name'): ModelSource => ({ kind: 'body', field }),
  served: (): ModelSource => ({ kind: 'served' }),
  resource: (): ModelSource => ({ kind: 'resource' }),
  allModels: (): ModelSource => ({ kind: 'all-models' }),
} as const;

/** Who may call an operation: roles besides admin (empty = admin only), and which model it acts on. */
export interface AccessPolicy {
  roles: readonly Role[];
  model: ModelSource;
}

/** The parts of a request a policy reads; `query` may be narrowed in place (see ModelFrom.query). */
export interface PolicyRequest {
  /** HTTP method: a cookie-authenticated POST, PUT, PATCH or DELETE must carry the session's CSRF token. */
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

export type ModelTarget =
  /** The request names this model. */
  | { kind: 'model'; name: string }
  /** An optional query filter is absent: narrow it to the key's model. */
  | { kind: 'narrow-query'; name: string }
  /** Checked later, by the owner of the resource. */
  | { kind: 'deferred' }
  /** The request names a model, but not as one string (an array, a number): no model a scoped key may act on. */
  | { kind: 'unreadable' }
  | { kind: 'all-models' };

/** The model a request acts on, per its policy. */
export function targetModel(source: ModelSource, request: PolicyRequest, servedModel: string): ModelTarget {
  switch (source.kind) {
    case 'param': {
      const value = field(request.params, source.name);
      return typeof value === 'string' ? { kind: 'model', name: value } : { kind: 'unreadable' };
    }
    case 'query': {
      const value = field(request.query, source.name);
      if (value === undefined) return { kind: 'narrow-query', name: source.name };
      return typeof value === 'string' ? { kind: 'model', name: value } : { kind: 'unreadable' };
    }
    case 'body': {
      const value = field(request.body, source.field);
      if (value === undefined || value === null) return { kind: 'model', name: servedModel };
      return typeof value === 'string' ? { kind: 'model', name: value } : { kind: 'unreadable' };
    }
    case 'served':
      return { kind: 'model', name: servedModel };
    case 'resource':
      return { kind: 'deferred' };
    case 'all-models':
      return { kind: 'all-models' };
    default:
      return assertUnreachable(source);
  }
}

function field(container: unknown, name: string): unknown {
  return container !== null && typeof container === 'object' ? (container as Record<string, unknown>)[name] : undefined;
}

function assertUnreachable(x: never): never {
  throw new Error(`unhandled model source ${JSON.stringify(x)}`);
}
