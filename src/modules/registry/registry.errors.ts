import { HttpStatus } from '@nestjs/common';
import { AppError, assertUnreachable } from '../../common/errors/app-error';

export enum RegistryErrorCode {
  /** The named model version does not exist (in MLflow or in our registry), or has no usable artifact. */
  MODEL_VERSION_NOT_FOUND = 'MODEL_VERSION_NOT_FOUND',
  /** The version is already in the requested stage. */
  STAGE_UNCHANGED = 'STAGE_UNCHANGED',
}

export function registryErrorStatus(code: RegistryErrorCode): HttpStatus {
  switch (code) {
    case RegistryErrorCode.MODEL_VERSION_NOT_FOUND:
      return HttpStatus.NOT_FOUND;
    case RegistryErrorCode.STAGE_UNCHANGED:
      return HttpStatus.CONFLICT;
    default:
      return assertUnreachable(code);
  }
}

export class RegistryError extends AppError<RegistryErrorCode> {
  protected statusOf(code: RegistryErrorCode): HttpStatus {
    return registryErrorStatus(code);
  }
}
