/**
 * Which module owns each table (DESIGN.md, "A table has one owner"). Only the owner's folder (a path
 * under src/) names the table in SQL or uses its entity; other modules call the owner's service or query
 * class. table-owners.spec.ts enforces it and checks that every table the migrations create is listed.
 * Migrations (migrations/, src/database/) create and alter every table and are outside the rule.
 */
export const TABLE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  'common/auth': ['rate_limit_windows'],
  'modules/alerting': ['alert_incidents'],
  'modules/api-keys': ['api_keys'],
  'modules/audit': ['audit_log', 'audit_chain_legacy'],
  'modules/backup': ['backups', 'restore_drills'],
  'modules/batch-scoring': ['batch_scoring_runs', 'batch_predictions'],
  'modules/drift': ['drift_reports', 'drift_feature_results'],
  'modules/erasure': ['erasures'],
  'modules/governance': ['promotions'],
  // job_runs: the cron history before the jobs table (copied into it at migration); kept until no older replica writes it.
  'modules/jobs': ['jobs', 'job_runs'],
  'modules/notifications': ['webhook_deliveries'],
  'modules/outcomes': ['outcomes', 'outcome_reports'],
  // Daily partitions predictions_pYYYYMMDD and predictions_default belong with their parent.
  'modules/prediction-log': ['predictions', 'predictions_default'],
  'modules/registry': ['model_versions', 'stage_transitions'],
  'modules/serving': ['canaries'],
  'modules/sessions': ['console_sessions'],
  'modules/training': ['training_runs', 'training_run_logs'],
};

/** The owner folder of a table, or undefined for a table nobody declared. */
export function tableOwner(table: string): string | undefined {
  const name = /^predictions_p\d{8}$/.test(table) ? 'predictions' : table;
  return Object.keys(TABLE_OWNERS).find((owner) => TABLE_OWNERS[owner].includes(name));
}
