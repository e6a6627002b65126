import { Principal } from './roles';
import { CommonError, ErrorCode } from '../errors/app-error';

/** A key scoped to one model may not act on another. */
export function assertModelScope(principal: Principal, modelName: string): void {
  if (principal.modelName && principal.modelName !== modelName) {
    throw new CommonError(ErrorCode.FORBIDDEN, `API key ${principal.keyId} is limited to model '${principal.modelName}' and may not act on '${modelName}'.`);
  }
}

/** An operation that spans every model (API keys, outcome reports, webhook deliveries) needs a key without a model scope. */
export function assertUnscoped(principal: Principal): void {
  if (principal.modelName) {
    throw new CommonError(
      ErrorCode.FORBIDDEN,
      `API key ${principal.keyId} is limited to model '${principal.modelName}', and this endpoint acts on every model; use a key without a model scope.`,
    );
  }
}
