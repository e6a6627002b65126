/** What the global setup started for the system tests (shared through an environment variable). */
export interface TrainedVersion {
  run_id: string;
  model_name: string;
  version: string;
  model_sha256: string;
  artifact_uri: string;
  output_dir: string;
  metrics: Record<string, number>;
}

export interface TestEnv {
  tmpDir: string;
  databaseUrl: string;
  mlflowUri: string;
  modelName: string;
  trained: TrainedVersion[];
}

export const TEST_ENV_VAR = 'CHURN_TEST_ENV';

export function testEnv(): TestEnv {
  const raw = process.env[TEST_ENV_VAR];
  if (!raw) throw new Error(`${TEST_ENV_VAR} is not set: run the system tests through jest (its globalSetup starts Postgres and MLflow)`);
  return JSON.parse(raw) as TestEnv;
}
