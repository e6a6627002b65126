import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { STAGES, Stage } from '../stages';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class MlflowVersionInfo {
  @ApiPropertyOptional() run_id?: string;
  @ApiPropertyOptional() source?: string;
  @ApiPropertyOptional() status?: string;
  @ApiPropertyOptional({ description: 'Legacy MLflow stage (mirrored from ours).' }) current_stage?: string;
  @ApiProperty({ type: [String] }) aliases: string[];
  @ApiProperty({ type: Object }) tags: Record<string, string>;
  @ApiPropertyOptional() creation_timestamp?: number;
  @ApiPropertyOptional() description?: string;
}

export class ModelVersionView {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: STAGES }) stage: Stage;
  @ApiNullable(String) stage_changed_at: string | null;
  @ApiNullable(String) model_sha256: string | null;
  @ApiProperty({ description: 'false while the stage change is not yet mirrored to MLflow' }) mlflow_synced: boolean;
  @ApiNullable(MlflowVersionInfo, { description: 'null when MLflow is unreachable' })
  mlflow: MlflowVersionInfo | null;
}

export class ModelVersionList {
  @ApiProperty() name: string;
  @ApiProperty({ description: 'false when MLflow could not be reached; stages still come from the control plane' })
  mlflow_available: boolean;
  @ApiProperty({ type: [ModelVersionView] }) versions: ModelVersionView[];
}

export class ModelSummary {
  @ApiProperty() name: string;
  @ApiNullable(String) description: string | null;
  @ApiNullable(String) production_version: string | null;
  @ApiProperty({ type: [String] }) staging_versions: string[];
  @ApiNullable(String) latest_version: string | null;
  @ApiNullable(String) last_updated: string | null;
}

export class ModelList {
  @ApiProperty() mlflow_available: boolean;
  @ApiProperty({ type: [ModelSummary] }) models: ModelSummary[];
}

export class StageTransitionView {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: STAGES }) from_stage: Stage;
  @ApiProperty({ enum: STAGES }) to_stage: Stage;
  @ApiProperty({ enum: ['requested', 'archived-by-promotion'] }) reason: string;
  @ApiNullable(String) comment: string | null;
  @ApiNullable(String) actor_key_id: string | null;
  @ApiNullable(String) request_id: string | null;
  @ApiProperty() created_at: string;
}

export class StageChangeResult {
  @ApiProperty({ type: ModelVersionView }) version: ModelVersionView;
  @ApiProperty({ type: [StageTransitionView] }) transitions: StageTransitionView[];
  @ApiProperty({ enum: ['synced', 'pending'], description: 'pending: MLflow was unreachable; the mirror is retried in the background' })
  mlflow_sync: 'synced' | 'pending';
}

export class VersionRunView {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiNullable(String) run_id: string | null;
  @ApiProperty({ type: Object, description: 'Latest value of each metric of the run' }) metrics: Record<string, number>;
  @ApiProperty({ type: Object }) params: Record<string, string>;
}

export class StagesAtView {
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The instant asked about' }) at: string;
  @ApiNullable(String, { description: 'The version in Production at that instant, or null' }) production: string | null;
  @ApiProperty({ type: [String], description: 'Versions in Staging at that instant, newest first' }) staging: string[];
  @ApiProperty({ type: Object, description: 'version → its stage at that instant, for every version with a stage change by then' })
  versions: Record<string, Stage>;
  @ApiNullable(StageTransitionView, { description: 'The last stage change at or before the instant (what put things in this state)' })
  last_transition: StageTransitionView | null;
}

export class ComparedVersion {
  @ApiProperty() version: string;
  @ApiProperty({ enum: STAGES }) stage: Stage;
  @ApiNullable(String) run_id: string | null;
  @ApiProperty({ type: Object, additionalProperties: { type: 'number' }, description: 'Latest value of each metric of the version’s MLflow run' })
  metrics: Record<string, number>;
  @ApiProperty({ type: Object, additionalProperties: { type: 'string' } }) params: Record<string, string>;
  @ApiProperty({ type: Object, additionalProperties: { type: 'string' }, description: 'Model-version tags' }) tags: Record<string, string>;
}

export class ValueDiff {
  @ApiProperty() key: string;
  @ApiNullable(String, { description: 'Value in a (metrics as numbers in JSON)' }) a: string | number | null;
  @ApiNullable(String, { description: 'Value in b' }) b: string | number | null;
  @ApiProperty({ enum: ['same', 'changed', 'only_a', 'only_b'] }) status: 'same' | 'changed' | 'only_a' | 'only_b';
  @ApiNullable(Number, { description: 'b − a for metrics; null for params and tags' }) delta: number | null;
}

export class VersionComparison {
  @ApiProperty() name: string;
  @ApiProperty({ type: ComparedVersion }) a: ComparedVersion;
  @ApiProperty({ type: ComparedVersion }) b: ComparedVersion;
  @ApiProperty({ type: [ValueDiff] }) metrics: ValueDiff[];
  @ApiProperty({ type: [ValueDiff] }) params: ValueDiff[];
  @ApiProperty({ type: [ValueDiff] }) tags: ValueDiff[];
}
