import { HttpStatus } from '@nestjs/common';

/**
 * Proof at compile time that a switch handled every member of a union or enum: a new code that
 * nobody mapped fails the build here instead of answering with a guessed status at run time.
 */
export function assertUnreachable(value: never, message?: string): never {
  throw new Error(message ?? `Unhandled value: ${String(value)}`);
}

export interface FieldError {
  /** JSON-pointer-like path of the offending field, e.g. `age` or `[3].contract`. */
  field: string;
  message: string;
}

export interface AppErrorOptions {
  /** Each offending field (4xx), shown to the caller. */
  errors?: FieldError[];
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
}

/**
 * Base class of every error the service raises on purpose. Each domain has its own code enum and
 * one exhaustive code → status map (its `statusOf`); a throw site names a code, never a status.
 * The global filter turns the error into application/problem+json; `detail` is shown to the
 * caller, so it must never carry internals.
 */
export abstract class AppError<Code extends string = string> extends Error {
  readonly status: number;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: Code,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail);
    this.name = new.target.name;
    this.status = this.statusOf(code);
    this.errors = options.errors;
    this.headers = options.headers;
  }

  /** The domain's one code → HTTP status map. */
  protected abstract statusOf(code: Code): HttpStatus;
}

/** Codes of the caller's own request (authentication, validation, the resource it named) and of our own plumbing. */
export enum ErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  RATE_LIMITED = 'RATE_LIMITED',
  NOT_FOUND = 'NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  CONFLICT = 'CONFLICT',
  DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE',
  INTERNAL = 'INTERNAL',
}

export function errorCodeStatus(code: ErrorCode): HttpStatus {
  switch (code) {
    case ErrorCode.VALIDATION_FAILED:
      return HttpStatus.BAD_REQUEST;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case ErrorCode.UNAUTHENTICATED:
      return HttpStatus.UNAUTHORIZED;
    case ErrorCode.FORBIDDEN:
      return HttpStatus.FORBIDDEN;
    case ErrorCode.RATE_LIMITED:
      return HttpStatus.TOO_MANY_REQUESTS;
    case ErrorCode.NOT_FOUND:
      return HttpStatus.NOT_FOUND;
    case ErrorCode.METHOD_NOT_ALLOWED:
      return HttpStatus.METHOD_NOT_ALLOWED;
    case ErrorCode.CONFLICT:
      return HttpStatus.CONFLICT;
    case ErrorCode.DATABASE_UNAVAILABLE:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ErrorCode.INTERNAL:
      return HttpStatus.INTERNAL_SERVER_ERROR;
    default:
      return assertUnreachable(code);
  }
}

/** An error of the common domain (see ErrorCode); the helpers below name the frequent ones. */
export class CommonError extends AppError<ErrorCode> {
  protected statusOf(code: ErrorCode): HttpStatus {
    return errorCodeStatus(code);
  }
}

export class ValidationFailedError extends CommonError {
  constructor(errors: FieldError[], detail?: string) {
    super(ErrorCode.VALIDATION_FAILED, detail ?? `Invalid request: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
  }
}

export class NotFoundError extends CommonError {
  constructor(detail: string) {
    super(ErrorCode.NOT_FOUND, detail);
  }
}

export class ConflictError extends CommonError {
  constructor(detail: string) {
    super(ErrorCode.CONFLICT, detail);
  }
}

export class MethodNotAllowedError extends CommonError {
  constructor(method: string, path: string, allowed: string[]) {
    super(ErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed on ${path}; use ${allowed.join(', ')}.`, { headers: { allow: allowed.join(', ') } });
  }
}
