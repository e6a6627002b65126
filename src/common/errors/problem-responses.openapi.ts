import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath, OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ProblemDetails } from './problem-details';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** The answers every operation of a kind can give; a route documents the rest itself with @ApiProblem. */
const COMMON = {
  400: 'Invalid request: `errors` names each offending field (body, query or path parameter)',
  401: 'Missing, unknown, expired or revoked API key (X-API-Key, or Authorization: Bearer)',
  403: "The key's role or model scope does not allow this operation",
  404: 'Nothing with this id or name',
  413: 'Request body larger than BODY_LIMIT_BYTES',
  429: 'Rate limit of the key exceeded; see Retry-After',
  503: 'A dependency (database, MLflow) or the served model is unavailable; see Retry-After',
} as const;

/**
 * Documents an error answer specific to one route (409 on a state conflict, 404 without path
 * parameters, ...). Its body, application/problem+json with the ProblemDetails schema, is added by
 * documentProblemResponses, like every other error answer.
 */
export function ApiProblem(status: number, description: string): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiResponse({ status, description }));
}

/**
 * One pass over the generated document: every operation documents the error answers it can give,
 * each as application/problem+json with the ProblemDetails schema unless the route declared its own body.
 * - 400 where there are parameters or a body; 413 where there is a body; 404 where there are path parameters;
 * - 401, 403, 429 and 503 where an API key is required (the key check itself needs the database).
 */
export function documentProblemResponses(document: OpenAPIObject): void {
  const problem = { schema: { $ref: getSchemaPath(ProblemDetails) } };
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method] as OperationObject | undefined;
      if (!op) continue;
      const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])] as { in?: string }[];
      const secured = (op.security ?? document.security ?? []).length > 0;
      const wanted: number[] = [];
      if (parameters.length > 0 || op.requestBody) wanted.push(400);
      if (op.requestBody) wanted.push(413);
      if (parameters.some((p) => p.in === 'path')) wanted.push(404);
      if (secured) wanted.push(401, 403, 429, 503);
      op.responses ??= {};
      for (const status of wanted) op.responses[status] ??= { description: COMMON[status as keyof typeof COMMON] };
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || !response || '$ref' in response) continue;
        const r = response as ResponseObject;
        r.content ??= { [PROBLEM_CONTENT_TYPE]: problem };
      }
    }
  }
}
