import { randomBytes } from 'node:crypto';
import * as os from 'node:os';

/** Identifies this process among replicas: `<host>/<pid>/<random>`. Owners of runs and jobs are recorded with it. */
export const INSTANCE_ID = `${os.hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;

export function parseInstanceId(id: string): { host: string; pid: number } | undefined {
  const [host, pid] = id.split('/');
  const n = Number(pid);
  return host && Number.isInteger(n) ? { host, pid: n } : undefined;
}

/** True when `id` names a process on this host that no longer exists (or a previous life of this one). */
export function isDeadLocalInstance(id: string): boolean {
  if (id === INSTANCE_ID) return false;
  const parsed = parseInstanceId(id);
  if (!parsed || parsed.host !== os.hostname()) return false;
  if (parsed.pid === process.pid) return true; // same pid, different random part: an earlier process
  try {
    process.kill(parsed.pid, 0);
    return false;
  } catch {
    return true;
  }
}
