/**
 * The environment of a child process we start (the trainer, embedded Postgres): the service's own
 * environment (PATH, HOME, proxies, credentials the child reads itself) with `overrides` on top. Child
 * processes inherit it whole, so it is passed on rather than parsed: this is the one place outside
 * loadConfig that touches process.env, and it reads no setting of ours.
 */
export function childProcessEnv(overrides: NodeJS.ProcessEnv = {}, defaults: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...defaults, ...process.env, ...overrides };
}
