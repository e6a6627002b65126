import { HttpStatus } from '@nestjs/common';
import { AppError, assertUnreachable } from '../../common/errors/app-error';

export enum ServingErrorCode {
  /** No verified model is loaded yet: retry shortly, or promote a version. */
  MODEL_NOT_LOADED = 'MODEL_NOT_LOADED',
  /** The loaded model threw while scoring. */
  INFERENCE_FAILED = 'INFERENCE_FAILED',
  /** A challenger version cannot be attached: no checksum to verify, or a failed smoke test. */
  CHALLENGER_REFUSED = 'VALIDATION_FAILED',
}

export function servingErrorStatus(code: ServingErrorCode): HttpStatus {
  switch (code) {
    case ServingErrorCode.MODEL_NOT_LOADED:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ServingErrorCode.INFERENCE_FAILED:
      return HttpStatus.INTERNAL_SERVER_ERROR;
    case ServingErrorCode.CHALLENGER_REFUSED:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    default:
      return assertUnreachable(code);
  }
}

export class ServingError extends AppError<ServingErrorCode> {
  protected statusOf(code: ServingErrorCode): HttpStatus {
    return servingErrorStatus(code);
  }
}

export class ModelNotLoadedError extends ServingError {
  constructor(detail: string) {
    super(ServingErrorCode.MODEL_NOT_LOADED, detail, { headers: { 'retry-after': '5' } });
  }
}
