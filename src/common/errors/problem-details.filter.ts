import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode, FieldError } from './app-error';
import { ProblemDetails } from './problem-details';
import { isUniqueViolation } from './unique-violation';

export { ProblemDetails };

const FRAMEWORK_CODES: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.VALIDATION_FAILED,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
};

/** Fastify's own errors (body parsing, body size) carry a statusCode and a FST_* code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

export function toProblem(exception: unknown, instance: string, requestId?: string): { problem: ProblemDetails; headers: Record<string, string> } {
  let status: number = HttpStatus.INTERNAL_SERVER_ERROR;
  let code: string = ErrorCode.INTERNAL;
  let detail = 'An unexpected error occurred. It has been logged; retry later or contact the operator with the request id.';
  let errors: FieldError[] | undefined;
  let headers: Record<string, string> = {};

  if (exception instanceof AppError) {
    ({ status, code, detail, errors } = exception);
    headers = exception.headers ?? {};
  } else if (exception instanceof HttpException) {
    status = exception.getStatus();
    code = FRAMEWORK_CODES[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.VALIDATION_FAILED);
    const body = exception.getResponse();
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    if (status < 500) detail = Array.isArray(message) ? message.join('; ') : String(message ?? exception.message);
  } else if (isUniqueViolation(exception)) {
    // A duplicate that raced past the service's own check (the sites that can say more wrap their
    // write in conflictOnUniqueViolation): the caller's conflict, not our failure.
    status = HttpStatus.CONFLICT;
    code = ErrorCode.CONFLICT;
    detail = 'The request conflicts with a change made at the same time; reload the current state and retry if it still applies.';
  } else if (isFastifyClientError(exception)) {
    status = exception.statusCode!;
    code = FRAMEWORK_CODES[status] ?? ErrorCode.VALIDATION_FAILED;
    detail =
      exception.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'Request body is larger than the configured limit (BODY_LIMIT_BYTES); send fewer rows per request.'
        : String(exception.message);
  }

  const problem: ProblemDetails = {
    type: `https://churn-control-plane.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title:
      HttpStatus[status]
        ?.replace(/_/g, ' ')
        .toLowerCase()
        .replace(/^\w/, (c) => c.toUpperCase()) ?? 'Error',
    status,
    detail,
    code,
    instance,
    ...(requestId ? { request_id: requestId } : {}),
    ...(errors ? { errors } : {}),
  };
  return { problem, headers };
}

function isFastifyClientError(e: unknown): e is FastifyLikeError {
  const s = (e as FastifyLikeError | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 500;
}

/** The one place where errors become HTTP responses: application/problem+json (RFC 9457). */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const { problem, headers } = toProblem(exception, request.url, request.id);
    if (problem.status >= 500) {
      // Deliberate errors (dependency down, no model) are expected operating states; anything else is a bug.
      if (exception instanceof AppError) this.logger.warn(`${problem.code}: ${problem.detail}`);
      else this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
    }
    void reply.status(problem.status).headers(headers).type('application/problem+json').send(problem);
  }
}
