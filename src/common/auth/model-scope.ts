import { HttpStatus } from '@nestjs/common';
import { Principal } from 'src/common/auth/roles';
import { AppError, ErrorCode } from 'src/common/errors/app-error';

/** A key scoped to one model may not act on another. */
export function assertModelScope(principal: Principal, modelName: string): void {
  if (principal.modelName && principal.modelName !== modelName) {
    throw new AppError(
      HttpStatus.FORBIDDEN,
      ErrorCode.FORBIDDEN,
      `API key ${principal.keyId} is limited to model '${principal.modelName}' and may not act on '${modelName}'.`,
    );
  }
}
