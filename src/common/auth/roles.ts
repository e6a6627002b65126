export const ROLES = ['predict', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The caller attached to a request once its API key is verified. */
export interface Principal {
  keyId: string;
  role: Role;
  /** When set, the key may only act on this registered model. */
  modelName: string | null;
  /** Per-key override of RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute: number | null;
}

/** admin may do everything; every other role only what an endpoint names explicitly. */
export function roleAllows(role: Role, allowed: readonly Role[]): boolean {
  return role === 'admin' || allowed.includes(role);
}
