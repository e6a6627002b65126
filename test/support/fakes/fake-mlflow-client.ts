import { MlflowNotFoundError, MlflowRequestError, MlflowUnavailableError } from '../../../src/mlflow/mlflow.errors';
import { MlflowModelVersion, MlflowRegisteredModel, MlflowTag } from '../../../src/mlflow/mlflow.types';
import type { MlflowClient } from '../../../src/mlflow/mlflow.client';

interface FakeVersion {
  version: string;
  runId?: string;
  tags: Map<string, string>;
  stage: string;
}

/**
 * An in-memory MLflow model registry with the calls of `MlflowClient` that services make: versions with tags and legacy
 * stages, aliases, and runs with metrics. `down()` makes every call fail as an unreachable server does; `calls` lists the
 * writes in order, so a test can assert what reached MLflow.
 */
export class FakeMlflowClient implements Pick<
  MlflowClient,
  | 'getModelVersion'
  | 'getRegisteredModel'
  | 'searchModelVersions'
  | 'searchRegisteredModels'
  | 'getRun'
  | 'setAlias'
  | 'deleteAlias'
  | 'setModelVersionTag'
  | 'transitionStage'
> {
  private readonly models = new Map<string, { versions: Map<string, FakeVersion>; aliases: Map<string, string> }>();
  private readonly runs = new Map<string, Record<string, number>>();
  private unavailable: string | null = null;
  private writesUnavailable: string | null = null;
  /** Legacy stages refused as a server without them does (MlflowRequestError); aliases and tags still work. */
  refuseLegacyStages = false;
  readonly calls: string[] = [];

  /** Registers `version` of `model` (created on first use), optionally with its run's metrics and tags. */
  addVersion(model: string, version: string, opts: { runId?: string; metrics?: Record<string, number>; tags?: Record<string, string> } = {}): this {
    const m = this.model(model);
    m.versions.set(version, { version, runId: opts.runId, tags: new Map(Object.entries(opts.tags ?? {})), stage: 'None' });
    if (opts.runId) this.runs.set(opts.runId, opts.metrics ?? {});
    return this;
  }

  down(reason = 'connect ECONNREFUSED 127.0.0.1:5000'): void {
    this.unavailable = reason;
  }

  /** Reads still answer, writes fail as an unreachable server's do (MLflow went away between a check and a mirror). */
  failWrites(reason = 'connect ECONNREFUSED 127.0.0.1:5000'): void {
    this.writesUnavailable = reason;
  }

  up(): void {
    this.unavailable = null;
    this.writesUnavailable = null;
  }

  alias(model: string, alias: string): string | undefined {
    return this.models.get(model)?.aliases.get(alias);
  }

  /** Someone moved an alias in the MLflow UI. */
  moveAlias(model: string, alias: string, version: string | null): void {
    if (version === null) this.model(model).aliases.delete(alias);
    else this.model(model).aliases.set(alias, version);
  }

  tag(model: string, version: string, key: string): string | undefined {
    return this.models.get(model)?.versions.get(version)?.tags.get(key);
  }

  legacyStage(model: string, version: string): string | undefined {
    return this.models.get(model)?.versions.get(version)?.stage;
  }

  async getModelVersion(name: string, version: string): Promise<MlflowModelVersion> {
    this.check();
    return this.view(name, this.version(name, version));
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel> {
    this.check();
    const m = this.models.get(name);
    if (!m) throw new MlflowNotFoundError(`Registered Model with name=${name} not found`);
    return { name, aliases: [...m.aliases].map(([alias, version]) => ({ alias, version })) };
  }

  async searchModelVersions(name: string): Promise<MlflowModelVersion[]> {
    this.check();
    return [...(this.models.get(name)?.versions.values() ?? [])].map((v) => this.view(name, v));
  }

  async searchRegisteredModels(): Promise<MlflowRegisteredModel[]> {
    this.check();
    return [...this.models.keys()].map((name) => ({ name }));
  }

  async getRun(
    runId: string,
  ): Promise<{ info: { run_id: string; experiment_id: string; status: string }; data?: { tags?: MlflowTag[]; metrics?: { key: string; value: number }[] } }> {
    this.check();
    const metrics = this.runs.get(runId);
    if (!metrics) throw new MlflowNotFoundError(`Run '${runId}' not found`);
    return {
      info: { run_id: runId, experiment_id: '1', status: 'FINISHED' },
      data: { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value })) },
    };
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    this.check(true);
    this.version(name, version);
    this.model(name).aliases.set(alias, version);
    this.calls.push(`setAlias ${name}@${alias}=${version}`);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    this.check(true);
    if (this.model(name).aliases.delete(alias)) this.calls.push(`deleteAlias ${name}@${alias}`);
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    this.check(true);
    this.version(name, version).tags.set(key, value);
    this.calls.push(`setTag ${name}/${version} ${key}=${value}`);
  }

  async transitionStage(name: string, version: string, stage: string): Promise<void> {
    this.check(true);
    if (this.refuseLegacyStages) throw new MlflowRequestError('INVALID_PARAMETER_VALUE', 400, 'Model registry stages are disabled');
    this.version(name, version).stage = stage;
    this.calls.push(`transitionStage ${name}/${version} ${stage}`);
  }

  private check(write = false): void {
    const reason = this.unavailable ?? (write ? this.writesUnavailable : null);
    if (reason) throw new MlflowUnavailableError(`MLflow is unreachable: ${reason}`);
  }

  private model(name: string) {
    let m = this.models.get(name);
    if (!m) this.models.set(name, (m = { versions: new Map(), aliases: new Map() }));
    return m;
  }

  private version(name: string, version: string): FakeVersion {
    const v = this.models.get(name)?.versions.get(version);
    if (!v) throw new MlflowNotFoundError(`Model Version (name=${name}, version=${version}) not found`);
    return v;
  }

  private view(name: string, v: FakeVersion): MlflowModelVersion {
    const aliases = [...(this.models.get(name)?.aliases ?? [])].filter(([, version]) => version === v.version).map(([alias]) => alias);
    return { name, version: v.version, run_id: v.runId, current_stage: v.stage, tags: [...v.tags].map(([key, value]) => ({ key, value })), aliases };
  }
}
