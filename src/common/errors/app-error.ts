import { HttpStatus } from '@nestjs/common';

/** Stable machine-readable codes carried in every problem+json response. */
export enum ErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  RATE_LIMITED = 'RATE_LIMITED',
  NOT_FOUND = 'NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  CONFLICT = 'CONFLICT',
  MODEL_NOT_LOADED = 'MODEL_NOT_LOADED',
  MODEL_VERSION_NOT_FOUND = 'MODEL_VERSION_NOT_FOUND',
  STAGE_UNCHANGED = 'STAGE_UNCHANGED',
  MLFLOW_UNAVAILABLE = 'MLFLOW_UNAVAILABLE',
  MLFLOW_ERROR = 'MLFLOW_ERROR',
  DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE',
  INFERENCE_FAILED = 'INFERENCE_FAILED',
  INTERNAL = 'INTERNAL',
}

export interface FieldError {
  /** JSON-pointer-like path of the offending field, e.g. `age` or `[3].contract`. */
  field: string;
  message: string;
}

/**
 * Base class of every error the service raises on purpose. The global filter turns it into
 * application/problem+json; `detail` is shown to the caller, so it must never carry internals.
 */
export class AppError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends AppError {
  constructor(errors: FieldError[], detail?: string) {
    super(
      HttpStatus.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      detail ?? `Invalid request: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      errors,
    );
  }
}

export class NotFoundError extends AppError {
  constructor(detail: string, code: ErrorCode = ErrorCode.NOT_FOUND) {
    super(HttpStatus.NOT_FOUND, code, detail);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code: ErrorCode = ErrorCode.CONFLICT) {
    super(HttpStatus.CONFLICT, code, detail);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: ErrorCode, detail: string, retryAfterSeconds = 5) {
    super(HttpStatus.SERVICE_UNAVAILABLE, code, detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, path: string, allowed: string[]) {
    super(HttpStatus.METHOD_NOT_ALLOWED, ErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed on ${path}; use ${allowed.join(', ')}.`, undefined, {
      allow: allowed.join(', '),
    });
  }
}
