import { HttpStatus } from '@nestjs/common';
import { AppError, assertUnreachable } from '../common/errors/app-error';

export enum MlflowErrorCode {
  /** MLflow could not be reached, timed out, or answered 5xx/429: the caller may retry later. */
  MLFLOW_UNAVAILABLE = 'MLFLOW_UNAVAILABLE',
  /** MLflow answered RESOURCE_DOES_NOT_EXIST (or a 404). */
  NOT_FOUND = 'NOT_FOUND',
  /** Any other MLflow error answer. */
  MLFLOW_ERROR = 'MLFLOW_ERROR',
}

export function mlflowErrorStatus(code: MlflowErrorCode): HttpStatus {
  switch (code) {
    case MlflowErrorCode.MLFLOW_UNAVAILABLE:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case MlflowErrorCode.NOT_FOUND:
      return HttpStatus.NOT_FOUND;
    case MlflowErrorCode.MLFLOW_ERROR:
      return HttpStatus.BAD_GATEWAY;
    default:
      return assertUnreachable(code);
  }
}

export abstract class MlflowError extends AppError<MlflowErrorCode> {
  protected statusOf(code: MlflowErrorCode): HttpStatus {
    return mlflowErrorStatus(code);
  }
}

/** MLflow could not be reached, timed out, or answered 5xx/429: the caller may retry later (503). */
export class MlflowUnavailableError extends MlflowError {
  constructor(detail: string) {
    super(MlflowErrorCode.MLFLOW_UNAVAILABLE, detail, { headers: { 'retry-after': '10' } });
  }
}

/** MLflow answered RESOURCE_DOES_NOT_EXIST (or a 404). */
export class MlflowNotFoundError extends MlflowError {
  constructor(detail: string) {
    super(MlflowErrorCode.NOT_FOUND, detail);
  }
}

/** Any other MLflow error answer; the MLflow error code is kept for logs and callers. */
export class MlflowRequestError extends MlflowError {
  constructor(
    readonly mlflowCode: string,
    readonly httpStatus: number,
    detail: string,
  ) {
    super(MlflowErrorCode.MLFLOW_ERROR, detail);
  }
}
