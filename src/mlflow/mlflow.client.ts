import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import axios, { AxiosError, AxiosInstance, AxiosRequestConfig } from 'axios';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  RetryPolicy,
  timeout,
  TimeoutPolicy,
  TimeoutStrategy,
} from 'cockatiel';
import type { Counter, Gauge } from 'prom-client';
import { APP_CONFIG } from '../config/config';
import { AppConfig } from '../config/config.schema';
import { MlflowNotFoundError, MlflowRequestError, MlflowUnavailableError } from './mlflow.errors';
import { MLFLOW_BREAKER_OPEN, MLFLOW_CALLS } from './mlflow.metrics';
import { MlflowArtifactFile, MlflowModelVersion, MlflowRegisteredModel, MlflowRun } from './mlflow.types';

interface CallOptions {
  /** Safe to repeat: retried with exponential backoff and decorrelated jitter while MLflow is unavailable. */
  idempotent: boolean;
}

const NOT_FOUND_CODES = new Set(['RESOURCE_DOES_NOT_EXIST', 'NOT_FOUND', 'ENDPOINT_NOT_FOUND']);
const BREAKER_THRESHOLD = 5;
const BREAKER_COOL_DOWN_MS = 10_000;

/**
 * Typed client of the MLflow tracking server's REST API. Timeouts on every call, retries on
 * idempotent ones, a circuit breaker so that an MLflow outage fails fast instead of piling up,
 * and MLflow error codes mapped to our errors.
 */
@Injectable()
export class MlflowClient {
  private readonly logger = new Logger(MlflowClient.name);
  private readonly http: AxiosInstance;
  /** Only an unavailable MLflow (network error, timeout, 429, 5xx) is retried or counts towards opening the circuit. */
  private readonly retry: RetryPolicy;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly timeout: TimeoutPolicy;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // Optional so that tests and the CLI can build a client without a metrics registry.
    @Optional() @InjectMetric(MLFLOW_CALLS) private readonly calls?: Counter,
    @Optional() @InjectMetric(MLFLOW_BREAKER_OPEN) private readonly breakerOpen?: Gauge,
  ) {
    this.http = axios.create({
      baseURL: config.MLFLOW_TRACKING_URI.replace(/\/+$/, ''),
      headers: { 'content-type': 'application/json' },
      auth: mlflowBasicAuth(config),
      // Errors are classified by us, not by axios.
      validateStatus: () => true,
    });
    const unavailable = handleWhen((err) => err instanceof MlflowUnavailableError);
    this.timeout = timeout(config.MLFLOW_TIMEOUT_MS, TimeoutStrategy.Cooperative);
    this.retry = retry(unavailable, { maxAttempts: config.MLFLOW_MAX_RETRIES, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }) });
    this.breaker = circuitBreaker(unavailable, { halfOpenAfter: BREAKER_COOL_DOWN_MS, breaker: new ConsecutiveBreaker(BREAKER_THRESHOLD) });
    this.breaker.onBreak(() => {
      this.breakerOpen?.set(1);
      this.logger.warn(`MLflow circuit opened for ${BREAKER_COOL_DOWN_MS} ms after ${BREAKER_THRESHOLD} failed calls in a row`);
    });
    this.breaker.onReset(() => this.breakerOpen?.set(0));
  }

  get trackingUri(): string {
    return this.config.MLFLOW_TRACKING_URI;
  }

  async ping(): Promise<void> {
    await this.request({ method: 'GET', url: '/health', responseType: 'text' }, { idempotent: false });
  }

  /** The server's MLflow version (GET /version). */
  async version(): Promise<string> {
    const text = await this.request<string>({ method: 'GET', url: '/version', responseType: 'text' }, { idempotent: true });
    return String(text).trim();
  }

  async searchRegisteredModels(): Promise<MlflowRegisteredModel[]> {
    const out: MlflowRegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.get<{ registered_models?: MlflowRegisteredModel[]; next_page_token?: string }>('/api/2.0/mlflow/registered-models/search', {
        max_results: 1000,
        page_token: pageToken,
      });
      out.push(...(page.registered_models ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel> {
    const r = await this.get<{ registered_model: MlflowRegisteredModel }>('/api/2.0/mlflow/registered-models/get', { name });
    return r.registered_model;
  }

  async searchModelVersions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.get<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>('/api/2.0/mlflow/model-versions/search', {
        filter: `name='${name.replace(/'/g, "\\'")}'`,
        max_results: 1000,
        order_by: 'version_number DESC',
        page_token: pageToken,
      });
      out.push(...(page.model_versions ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async getModelVersion(name: string, version: string): Promise<MlflowModelVersion> {
    const r = await this.get<{ model_version: MlflowModelVersion }>('/api/2.0/mlflow/model-versions/get', { name, version });
    return r.model_version;
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      const r = await this.get<{ model_version: MlflowModelVersion }>('/api/2.0/mlflow/registered-models/alias', { name, alias });
      return r.model_version;
    } catch (err) {
      // MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE, not 404.
      if (err instanceof MlflowNotFoundError || (err instanceof MlflowRequestError && err.mlflowCode === 'INVALID_PARAMETER_VALUE')) {
        return undefined;
      }
      throw err;
    }
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.get<{ run: MlflowRun }>('/api/2.0/mlflow/runs/get', { run_id: runId });
    return r.run;
  }

  async getDownloadUri(name: string, version: string): Promise<string> {
    const r = await this.get<{ artifact_uri: string }>('/api/2.0/mlflow/model-versions/get-download-uri', { name, version });
    return r.artifact_uri;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.send('POST', '/api/2.0/mlflow/registered-models/alias', { name, alias, version });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    try {
      await this.send('DELETE', '/api/2.0/mlflow/registered-models/alias', { name, alias });
    } catch (err) {
      if (!(err instanceof MlflowNotFoundError)) throw err;
    }
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.send('POST', '/api/2.0/mlflow/model-versions/set-tag', { name, version, key, value });
  }

  /** Legacy stages: deprecated upstream but still served by 3.x; we mirror into them for old tooling. */
  async transitionStage(name: string, version: string, stage: string): Promise<void> {
    await this.send('POST', '/api/2.0/mlflow/model-versions/transition-stage', {
      name,
      version,
      stage,
      archive_existing_versions: false,
    });
  }

  /** Lists a directory of the artifact proxy (`mlflow-artifacts:/<path>`); `path` of each entry is its basename. */
  async listArtifacts(artifactPath: string): Promise<MlflowArtifactFile[]> {
    const r = await this.get<{ files?: MlflowArtifactFile[] }>('/api/2.0/mlflow-artifacts/artifacts', { path: artifactPath });
    return r.files ?? [];
  }

  async downloadArtifact(artifactPath: string): Promise<Buffer> {
    const data = await this.request<ArrayBuffer>(
      { method: 'GET', url: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`, responseType: 'arraybuffer' },
      { idempotent: true },
    );
    return Buffer.from(data);
  }

  async uploadArtifact(artifactPath: string, body: Buffer): Promise<void> {
    await this.request(
      {
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`,
        data: body,
        headers: { 'content-type': 'application/octet-stream' },
      },
      { idempotent: true },
    );
  }

  /** Maps a version's download URI to a path on the artifact proxy. */
  static artifactProxyPath(artifactUri: string): string {
    if (artifactUri.startsWith('mlflow-artifacts:')) {
      const rest = artifactUri.slice('mlflow-artifacts:'.length).replace(/^\/\/[^/]*/, '');
      return rest.replace(/^\/+/, '');
    }
    const anchor = '/api/2.0/mlflow-artifacts/artifacts/';
    const at = artifactUri.indexOf(anchor);
    if (/^https?:\/\//.test(artifactUri) && at >= 0) return artifactUri.slice(at + anchor.length);
    throw new MlflowRequestError(
      'UNSUPPORTED_ARTIFACT_URI',
      0,
      `Artifact URI ${artifactUri} is not served by the MLflow artifact proxy; start mlflow server with --serve-artifacts.`,
    );
  }

  private get<T>(url: string, params: Record<string, unknown>): Promise<T> {
    return this.request<T>({ method: 'GET', url, params: dropUndefined(params) }, { idempotent: true });
  }

  private send<T>(method: 'POST' | 'DELETE' | 'PATCH', url: string, data: Record<string, unknown>): Promise<T> {
    // Setting an alias or a tag to a value is naturally idempotent, so these are retried too.
    return this.request<T>({ method, url, data }, { idempotent: true });
  }

  private async request<T>(req: AxiosRequestConfig, opts: CallOptions): Promise<T> {
    try {
      const data = await this.breaker.execute(() => (opts.idempotent ? this.retry.execute(() => this.attempt<T>(req)) : this.attempt<T>(req)));
      this.calls?.inc({ outcome: 'ok' });
      return data;
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        this.calls?.inc({ outcome: 'short_circuited' });
        throw new MlflowUnavailableError(
          `MLflow at ${this.trackingUri} failed ${BREAKER_THRESHOLD} times in a row; not calling it for a few seconds. Check that the tracking server is up.`,
        );
      }
      this.calls?.inc({ outcome: err instanceof MlflowUnavailableError ? 'failed' : 'error' });
      throw err;
    }
  }

  /** One HTTP exchange under the per-call timeout; MLflow's answer classified into our errors. */
  private async attempt<T>(req: AxiosRequestConfig): Promise<T> {
    return this.timeout.execute(async ({ signal }) => {
      let res;
      try {
        res = await this.http.request({ ...req, signal });
      } catch (err) {
        if (!(err instanceof AxiosError)) throw err;
        const why = signal.aborted ? `no answer within ${this.config.MLFLOW_TIMEOUT_MS} ms` : (err.code ?? err.message);
        throw new MlflowUnavailableError(`MLflow at ${this.trackingUri} is unreachable (${why}) for ${req.method} ${req.url}.`);
      }
      if (res.status >= 200 && res.status < 300) return res.data as T;
      throw this.toError(req, res.status, res.data);
    });
  }

  private toError(req: AxiosRequestConfig, status: number, data: unknown): Error {
    const body = parseBody(data);
    const code = body?.error_code ?? '';
    const message = body?.message ?? `HTTP ${status}`;
    const where = `${req.method} ${req.url}`;
    if (status === 429 || status >= 500 || code === 'TEMPORARILY_UNAVAILABLE' || code === 'REQUEST_LIMIT_EXCEEDED') {
      return new MlflowUnavailableError(`MLflow answered ${status} ${code} to ${where}: ${message}`);
    }
    if (status === 401 || status === 403) {
      const fix = this.config.MLFLOW_TRACKING_USERNAME
        ? `check that MLFLOW_TRACKING_USERNAME (${this.config.MLFLOW_TRACKING_USERNAME}) and MLFLOW_TRACKING_PASSWORD are right and that this user may do it`
        : 'the server asks for credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD';
      return new MlflowRequestError(code || `HTTP_${status}`, status, `MLflow refused ${where} (${status}): ${fix}`);
    }
    if (status === 404 || NOT_FOUND_CODES.has(code)) return new MlflowNotFoundError(message);
    return new MlflowRequestError(code || `HTTP_${status}`, status, `MLflow rejected ${where}: ${message}`);
  }
}

function parseBody(data: unknown): { error_code?: string; message?: string } | undefined {
  try {
    if (data instanceof ArrayBuffer || Buffer.isBuffer(data)) data = Buffer.from(data as ArrayBuffer).toString('utf8');
    if (typeof data === 'string') return data.startsWith('{') ? JSON.parse(data) : { message: data.slice(0, 200) };
    return data as { error_code?: string; message?: string };
  } catch {
    return undefined;
  }
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The basic-auth credentials of an MLflow server behind its own auth (mlflow server --app-name basic-auth). */
export function mlflowBasicAuth(config: AppConfig): { username: string; password: string } | undefined {
  return config.MLFLOW_TRACKING_USERNAME && config.MLFLOW_TRACKING_PASSWORD
    ? { username: config.MLFLOW_TRACKING_USERNAME, password: config.MLFLOW_TRACKING_PASSWORD }
    : undefined;
}
