import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { SIDECAR_FILES } from './model-signature';

export interface ModelFiles {
  dir: string;
  onnx: Buffer;
  sha256: string;
  read(file: (typeof SIDECAR_FILES)[number]): Promise<unknown>;
}

/**
 * Fetches a version's artifacts from MLflow into a local cache (<DATA_DIR>/model-cache/<name>/<version>)
 * and checks model.onnx against the sha256 recorded at registration. A verified cache entry is used
 * as is, so a replica can restart and serve while MLflow is down.
 */
@Injectable()
export class ModelArtifacts {
  private readonly logger = new Logger(ModelArtifacts.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly mlflow: MlflowClient,
  ) {}

  /** Fetches in progress, by cache directory and checksum. */
  private readonly inFlight = new Map<string, Promise<ModelFiles>>();

  /**
   * Callers that ask for the same version at once (two promotion requests, a smoke test beside the
   * loader) share one fetch: otherwise the second download replaces the cache directory while the
   * first caller is still reading its files from it.
   */
  fetch(modelName: string, version: string, expectedSha256: string): Promise<ModelFiles> {
    const dir = path.join(this.config.DATA_DIR, 'model-cache', safe(modelName), safe(version));
    const key = `${dir}\n${expectedSha256}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchOnce(dir, modelName, version, expectedSha256).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async fetchOnce(dir: string, modelName: string, version: string, expectedSha256: string): Promise<ModelFiles> {
    const cached = await this.readVerified(dir, expectedSha256).catch(() => undefined);
    if (cached) return cached;

    const artifactPath = MlflowClient.artifactProxyPath(await this.mlflow.getDownloadUri(modelName, version));
    const staging = `${dir}.partial-${randomUUID()}`;
    await fs.mkdir(staging, { recursive: true });
    try {
      for (const file of SIDECAR_FILES) {
        await fs.writeFile(path.join(staging, file), await this.mlflow.downloadArtifact(`${artifactPath}/${file}`));
      }
      const onnx = await fs.readFile(path.join(staging, 'model.onnx'));
      const actual = sha256(onnx);
      if (actual !== expectedSha256) {
        throw new Error(
          `model.onnx of ${modelName} v${version} has sha256 ${actual}, but ${expectedSha256} was registered; refusing a tampered or corrupted model`,
        );
      }
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rename(staging, dir);
      this.logger.log(`downloaded ${modelName} v${version} from ${artifactPath}`);
      return files(dir, onnx, actual);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  private async readVerified(dir: string, expectedSha256: string): Promise<ModelFiles | undefined> {
    const onnx = await fs.readFile(path.join(dir, 'model.onnx'));
    const actual = sha256(onnx);
    return actual === expectedSha256 ? files(dir, onnx, actual) : undefined;
  }
}

function files(dir: string, onnx: Buffer, sha: string): ModelFiles {
  return {
    dir,
    onnx,
    sha256: sha,
    async read(file) {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
      }
    },
  };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function safe(segment: string): string {
  return segment.replace(/[^A-Za-z0-9._-]/g, '_');
}
