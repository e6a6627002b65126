/**
 * Every kind of background job, in one list. Each name needs exactly one @JobHandler: the service
 * refuses to start when one has none (an unhandled job would otherwise sit in the queue forever).
 */
export enum JobName {
  WeeklyRetrain = 'weekly-retrain',
  WeeklyBatchScoring = 'weekly-batch-scoring',
  DailyDrift = 'daily-drift',
  MonthlyOutcomeReport = 'monthly-outcome-report',
  PredictionLogPartitions = 'prediction-log-partitions',
  WebhookDelivery = 'webhook-delivery',
  TrainingRun = 'training-run',
  BatchScoringRun = 'batch-scoring-run',
  MlflowReconcile = 'mlflow-reconcile',
  JobsRetention = 'jobs-retention',
  BackupDatabase = 'backup-database',
  BackupArtifacts = 'backup-artifacts',
  BackupRun = 'backup-run',
  BackupRestoreCheck = 'backup-restore-check',
  RestoreDrill = 'restore-drill',
  ErasureLogUpload = 'erasure-log-upload',
  ErasureReplay = 'erasure-replay',
}
