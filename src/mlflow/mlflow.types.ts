/** Shapes of the MLflow 3.x REST API that the control plane reads (see ../shared/MLFLOW_REST.md). */
export interface MlflowTag {
  key: string;
  value: string;
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: MlflowTag[];
  aliases?: string[];
  run_link?: string;
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: MlflowModelVersion[];
  tags?: MlflowTag[];
  aliases?: { alias: string; version: string }[];
}

export interface MlflowArtifactFile {
  path: string;
  is_dir?: boolean;
  file_size?: number;
}

export function tagValue(tags: MlflowTag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.key === key)?.value;
}

/** A run as /api/2.0/mlflow/runs/get returns it (metrics carry their latest value). */
export interface MlflowRun {
  info: { run_id: string; experiment_id: string; status: string; artifact_uri?: string };
  data?: { tags?: MlflowTag[]; metrics?: { key: string; value: number }[]; params?: { key: string; value: string }[] };
}
