export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
export const SETTABLE_STAGES = ['Staging', 'Production', 'Archived'] as const;
export type SettableStage = (typeof SETTABLE_STAGES)[number];

/** MLflow aliases that mirror our stages (aliases are MLflow's replacement for stages). */
export const STAGE_ALIASES: Partial<Record<Stage, string>> = { Production: 'production', Staging: 'staging' };
/** Model-version tag that mirrors our stage into MLflow. */
export const STAGE_TAG = 'control_plane.stage';
