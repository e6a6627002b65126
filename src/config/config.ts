import * as path from 'node:path';
import { configSchema, AppConfig } from './config.schema';
import { version as serviceVersion } from '../../package.json';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the environment variables above and start again.`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment once. Nothing else in the code base reads process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const relevant = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const dataDir = path.resolve(parsed.data.DATA_DIR);
  const localMode = parsed.data.DATABASE_URL === undefined;
  return Object.freeze({
    ...parsed.data,
    DATA_DIR: dataDir,
    // A bare command name (python3) is looked up on PATH; a path is relative to the project root.
    TRAINER_PYTHON: parsed.data.TRAINER_PYTHON.includes('/') ? path.resolve(PROJECT_ROOT, parsed.data.TRAINER_PYTHON) : parsed.data.TRAINER_PYTHON,
    TRAINER_WORKDIR: path.resolve(PROJECT_ROOT, parsed.data.TRAINER_WORKDIR),
    consoleDir: path.resolve(PROJECT_ROOT, parsed.data.CONSOLE_DIR),
    trainingDataDir: path.resolve(parsed.data.TRAINING_DATA_DIR ?? path.join(dataDir, 'datasets')),
    localMode,
    backupLocalDir: path.resolve(parsed.data.BACKUP_LOCAL_DIR ?? path.join(dataDir, 'backups')),
    mlflowBackendStoreUri: parsed.data.BACKUP_MLFLOW_BACKEND_STORE_URI ?? (localMode ? `sqlite:///${path.join(dataDir, 'mlflow', 'mlflow.db')}` : undefined),
    mlflowArtifactsDir:
      parsed.data.BACKUP_MLFLOW_ARTIFACTS_DIR !== undefined
        ? path.resolve(parsed.data.BACKUP_MLFLOW_ARTIFACTS_DIR)
        : localMode
          ? path.join(dataDir, 'mlflow', 'artifacts')
          : undefined,
    serviceVersion,
  });
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The repository (or image) root: parent of `src/` in development, of `dist/` when compiled. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? '..' : '.');
