import { Principal } from './roles';

/**
 * What the access machinery needs from API keys: the principal of a presented key. common/ depends on
 * this port only; the api-keys module implements it and app.module wires it in (AuthModule.forRoot).
 */
export interface KeyVerifier {
  /** The principal of a presented key, or undefined when it is unknown, revoked or expired. */
  verify(presented: string): Promise<Principal | undefined>;
}

export const KEY_VERIFIER = Symbol('KEY_VERIFIER');
