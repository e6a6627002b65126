import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/config.schema';

/** A mistake in how the CLI was called: printed with the usage text, exit code 2. */
export class CliUsageError extends Error {}

export function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new CliUsageError(`--${name} needs a value`);
  return v;
}

export type ApiCall = <T>(method: string, url: string, payload?: unknown) => Promise<T>;

/** Calls the running service's REST API with the CLI's key (CLI_API_KEY or the local admin key file). */
export function apiClient(config: AppConfig): { base: string; call: ApiCall } {
  const base = (config.CLI_API_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  const key = config.CLI_API_KEY ?? readKeyFile(config.DATA_DIR);
  const call: ApiCall = async <T>(method: string, url: string, payload?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}${url}`, {
        method,
        headers: { 'x-api-key': key, ...(payload ? { 'content-type': 'application/json' } : {}) },
        body: payload ? JSON.stringify(payload) : undefined,
      });
    } catch (err) {
      throw new Error(
        `cannot reach the service at ${base} (${(err as Error).cause ?? (err as Error).message}); start it with \`npm run up\` or set CLI_API_URL`,
      );
    }
    const json = (await res.json().catch(() => ({}))) as T & { detail?: string };
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${json.detail ?? JSON.stringify(json)}`);
    return json;
  };
  return { base, call };
}

function readKeyFile(dataDir: string): string {
  const file = path.join(dataDir, 'admin-api-key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliUsageError(`no API key: set CLI_API_KEY, or run from the project whose ${file} holds the local admin key`);
  }
}
