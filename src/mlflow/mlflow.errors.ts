import { HttpStatus } from '@nestjs/common';
import { AppError, ErrorCode } from '../common/errors/app-error';

/** MLflow could not be reached, timed out, or answered 5xx/429: the caller may retry later (503). */
export class MlflowUnavailableError extends AppError {
  constructor(detail: string) {
    super(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.MLFLOW_UNAVAILABLE, detail, undefined, { 'retry-after': '10' });
  }
}

/** MLflow answered RESOURCE_DOES_NOT_EXIST (or a 404). */
export class MlflowNotFoundError extends AppError {
  constructor(detail: string) {
    super(HttpStatus.NOT_FOUND, ErrorCode.NOT_FOUND, detail);
  }
}

/** Any other MLflow error answer; the MLflow error code is kept for logs and callers. */
export class MlflowRequestError extends AppError {
  constructor(
    readonly mlflowCode: string,
    readonly httpStatus: number,
    detail: string,
  ) {
    super(HttpStatus.BAD_GATEWAY, ErrorCode.MLFLOW_ERROR, detail);
  }
}
