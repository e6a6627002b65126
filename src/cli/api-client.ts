import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/config.schema';
import { ApiError, CliError, CliUsageError, Problem } from './errors';

export { CliUsageError };

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
      throw new CliError(
        `cannot reach the service at ${base} (${(err as Error).cause ?? (err as Error).message})`,
        'SERVICE_UNREACHABLE',
        1,
        'Start it with `npm run up`, or set CLI_API_URL to where it runs.',
      );
    }
    const json = (await res.json().catch(() => ({}))) as T & Partial<Problem>;
    if (!res.ok) throw new ApiError(method, url, problemOf(res.status, json));
    return json;
  };
  return { base, call };
}

function problemOf(status: number, body: Partial<Problem>): Problem {
  return {
    ...body,
    type: body.type ?? 'about:blank',
    title: body.title ?? `HTTP ${status}`,
    status: body.status ?? status,
    detail: body.detail ?? JSON.stringify(body),
    code: body.code ?? `HTTP_${status}`,
  };
}

function readKeyFile(dataDir: string): string {
  const file = path.join(dataDir, 'admin-api-key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(
      `no API key: CLI_API_KEY is not set and ${file} does not exist`,
      'NO_API_KEY',
      2,
      `Set CLI_API_KEY to an API key (an admin creates one with \`npm run cli -- keys create --role operator\`), or run from the project whose ${file} holds the local admin key.`,
    );
  }
}
