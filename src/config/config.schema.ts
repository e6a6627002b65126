import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const probability = z.coerce.number().min(0).max(1);

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Every environment variable the service reads. The README configuration table is generated from
 * this schema (`npm run docs:config`) and a unit test keeps the two in step.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe('Runtime environment.'),
    HOST: z.string().min(1).default('0.0.0.0').describe('Interface the HTTP server binds to.'),
    PORT: int(0, 65535).default(3000).describe('HTTP port.'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Minimum level of the JSON logs written to stdout.'),
    DATA_DIR: z.string().min(1).default('.data').describe('Local state: embedded Postgres data, model cache, the bootstrap admin key file.'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional()
      .describe('Postgres connection URL. When unset, an embedded PostgreSQL 15 is started under DATA_DIR.'),
    EMBEDDED_PG_PORT: int(1024, 65535).default(54330).describe('Port of the embedded Postgres (only when DATABASE_URL is unset).'),
    SHUTDOWN_DRAIN_TIMEOUT_MS: int(0, 600000)
      .default(20000)
      .describe(
        'On SIGTERM, how long open HTTP connections may take to finish their requests before they are closed (keep below the orchestrator grace period, 30 s on Kubernetes).',
      ),
    SHUTDOWN_HARD_DEADLINE_MS: int(100, 600000)
      .default(5000)
      .describe(
        'On SIGTERM, after the HTTP drain and the prediction log flush (to Postgres or the spill file), how long closing the app and the database may take; past it the service logs what it abandoned and exits with code 1 (e.g. a frozen Postgres that never lets the pool end). Keep SHUTDOWN_DRAIN_TIMEOUT_MS + PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS + this within the orchestrator grace period.',
      ),
    DB_POOL_SIZE: int(1, 200).default(10).describe('Maximum Postgres connections per replica.'),
    MLFLOW_TRACKING_URI: z.string().url().default('http://127.0.0.1:5000').describe('Base URL of the MLflow tracking server (REST).'),
    MLFLOW_TRACKING_USERNAME: z
      .string()
      .min(1)
      .optional()
      .describe('User for an MLflow server behind its own basic auth (mlflow server --app-name basic-auth); the trainer reads the same variable.'),
    MLFLOW_TRACKING_PASSWORD: z.string().min(1).optional().describe('Password of MLFLOW_TRACKING_USERNAME (from a secret store).'),
    MLFLOW_TIMEOUT_MS: int(100, 600000).default(10000).describe('Timeout of one MLflow REST call.'),
    MLFLOW_MAX_RETRIES: int(0, 10).default(3).describe('Retries (with exponential backoff and jitter) of idempotent MLflow calls.'),
    MLFLOW_RECONCILE_CRON: z
      .string()
      .min(1)
      .default('* * * * *')
      .describe(
        'When stage changes not yet mirrored to MLflow are retried and aliases moved in MLflow directly are repaired (cron, SCHEDULER_TIMEZONE; a sixth leading field counts seconds); one replica runs each slot. Default every minute.',
      ),
    SERVING_MODEL_NAME: z.string().min(1).default('churn-model').describe('Registered model whose Production version is served.'),
    MODEL_POLL_INTERVAL_MS: int(1000, 86400000)
      .default(15000)
      .describe('How often the served version is compared with the registry (fallback to change events).'),
    EVENTS_RECONNECT_MIN_MS: int(10, 600000)
      .default(250)
      .describe('First delay before the change-event listener reconnects to Postgres after losing its connection; doubled on each failed attempt.'),
    EVENTS_RECONNECT_MAX_MS: int(10, 600000).default(10000).describe('Longest delay between reconnect attempts of the change-event listener.'),
    EVENTS_KEEPALIVE_MS: int(100, 600000)
      .default(30000)
      .describe(
        'How often the change-event listener checks its Postgres connection with a query (and its timeout to connect); no answer by the next check counts as a lost connection.',
      ),
    PREDICTION_THRESHOLD: probability.default(0.5).describe('Churn probability at or above which `will_churn` is true.'),
    RISK_MEDIUM_THRESHOLD: probability.default(0.3).describe('Churn probability at or above which `risk_level` is `medium`.'),
    RISK_HIGH_THRESHOLD: probability.default(0.7).describe('Churn probability at or above which `risk_level` is `high`.'),
    BATCH_MAX_ROWS: int(1, 100000).default(1000).describe('Maximum rows accepted by `POST /predict/batch`.'),
    SERVING_MICRO_BATCH_MAX: int(1, 1024)
      .default(32)
      .describe(
        'Concurrent /predict requests scored together in one ONNX run, at most this many (1 = off). Flushed every event-loop turn, so a lone request never waits; measured by `npm run bench`.',
      ),
    BODY_LIMIT_BYTES: int(1024, 104857600).default(2097152).describe('Maximum request body size.'),
    BOOTSTRAP_ADMIN_API_KEY: z
      .string()
      .regex(/^chk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,}$/, 'must look like chk_<8 alphanumerics>_<secret of 20+ url-safe characters>')
      .optional()
      .describe('Admin key to ensure at start (from a secret store). In local mode a key is generated instead.'),
    SWAGGER_ENABLED: bool.default('true').describe('Serve Swagger UI at /docs and the spec at /openapi.json.'),
    SCHEDULER_ENABLED: bool.default('true').describe('Run scheduled jobs (weekly retrain, ...) on this replica; one replica wins each run.'),
    SCHEDULER_TIMEZONE: z.string().min(1).default('UTC').describe('Time zone of the cron expressions.'),
    JOBS_LEASE_MS: int(1000, 3_600_000)
      .default(60_000)
      .describe(
        'Lease on a running background job (cron slot, webhook delivery, run), renewed by its replica every third of it; a job whose replica died is adopted by another once it expires.',
      ),
    JOBS_POLL_MS: int(10, 600_000).default(1000).describe('How often each replica looks for due background jobs (and for jobs whose lease expired).'),
    JOBS_CONCURRENCY: int(1, 100).default(8).describe('Background jobs one replica runs at once.'),
    JOBS_RETENTION_DAYS: int(1, 3650)
      .default(30)
      .describe(
        'Finished background jobs (succeeded, failed, cancelled) are deleted this many days after they end; the last success of each cron job is kept.',
      ),
    TRAINING_EXECUTOR: z.enum(['local', 'kubernetes']).default('local').describe('Where training runs: a local process or a Kubernetes Job.'),
    TRAINER_PYTHON: z.string().min(1).default('.venv/bin/python').describe('Python of the trainer venv (local executor); relative to the project root.'),
    TRAINER_WORKDIR: z.string().min(1).default('.').describe('Directory holding the `trainer` package (local executor); relative to the project root.'),
    TRAINING_DATA_DIR: z
      .string()
      .min(1)
      .optional()
      .describe('Directory of customer CSV/Parquet files a run may read (`data_source`); default <DATA_DIR>/datasets.'),
    TRAINING_TIMEOUT_MINUTES: int(1, 24 * 60)
      .default(120)
      .describe('A run still going after this long is killed and marked failed.'),
    TRAINING_MAX_ACTIVE_RUNS_PER_MODEL: int(1, 20).default(1).describe('Queued or running runs allowed at once per model.'),
    TRAINING_DEFAULT_N_CUSTOMERS: int(1000, 10_000_000).default(50000).describe('Synthetic population size when a run does not say.'),
    TRAINING_GATE_PR_AUC: probability.default(0.6).describe('Quality gate: holdout PR-AUC must be above this to stage a version.'),
    TRAINING_GATE_ROC_AUC: probability.default(0.7).describe('Quality gate: holdout ROC-AUC must be above this.'),
    TRAINING_GATE_PRECISION_AT_50: probability
      .default(0.4)
      .describe('Quality gate: precision among the 50 highest-scored holdout customers must be above this.'),
    TRAINING_GATE_PARITY: z.coerce.number().positive().max(0.01).default(1e-5).describe('Quality gate: max |ONNX − Python| probability on the holdout.'),
    TRAINING_SCHEDULE_CRON: z.string().min(1).default('0 3 * * 0').describe('Weekly retrain (cron, SCHEDULER_TIMEZONE); default Sunday 03:00.'),
    PROMOTION_FOUR_EYES_STAGES: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(['Staging', 'Production'])))
      .default('Production')
      .describe('Target stages whose promotions need an approver other than the requester (comma-separated; empty for none).'),
    PROMOTION_METRIC_TOLERANCE: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe('A candidate may be at most this much worse than Production on PR-AUC and ROC-AUC.'),
    PROMOTION_LATENCY_BUDGET_MS: z.coerce
      .number()
      .positive()
      .max(10000)
      .default(10)
      .describe('Smoke test: p95 single-row scoring latency of a candidate must stay within this.'),
    CANARY_MAX_ERROR_RATE: probability
      .default(0.1)
      .describe('A canary or shadow challenger is rolled back when more than this fraction of its scorings fail within the window.'),
    CANARY_LATENCY_BUDGET_MS: z.coerce
      .number()
      .positive()
      .max(60000)
      .default(10)
      .describe('A challenger is rolled back when its p95 scoring latency within the window exceeds this.'),
    CANARY_WINDOW_SECONDS: int(10, 86400).default(300).describe('Sliding window of the live champion-vs-challenger comparison and of the rollback checks.'),
    CANARY_MIN_REQUESTS: int(1, 1_000_000).default(50).describe('Challenger scorings needed in the window before it can be rolled back automatically.'),
    CANARY_CHECK_INTERVAL_MS: int(100, 600000).default(5000).describe('How often each replica checks its challenger against the rollback policy.'),
    ALERT_AUTO_ROLLBACK: bool
      .default('true')
      .describe('A critical alert named in ALERT_ROLLBACK_ALERTS, received from Alertmanager, rolls back the active canary of its model.'),
    ALERT_ROLLBACK_ALERTS: z
      .string()
      .default('HighErrorRate,CanaryHighErrorRate')
      .transform((v) =>
        v
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      )
      .describe('Comma-separated alert names that may roll back a canary (when ALERT_AUTO_ROLLBACK is on and the alert is critical).'),
    PII_HASH_KEY: z
      .string()
      .min(16)
      .optional()
      .describe('Key of the HMAC that hashes customer ids before they are logged; replicas must share it. Generated under DATA_DIR when unset.'),
    AUDIT_HMAC_KEY: z
      .string()
      .min(32)
      .optional()
      .describe(
        'Key of the HMAC that chains the audit log (32+ characters, from a secret store; replicas share it; the database never holds it). Required with DATABASE_URL; generated under DATA_DIR in local mode.',
      ),
    AUDIT_HEAD_LOG_INTERVAL_MS: int(1000, 86_400_000)
      .default(300_000)
      .describe('How often each replica verifies the audit chain and writes its head (sequence and hash) to the log and the churn_audit_* metrics.'),
    PREDICTION_LOG_QUEUE_MAX: int(1000, 10_000_000).default(50000).describe('Predictions held in memory before the backlog is spilled to disk.'),
    PREDICTION_LOG_RETENTION_DAYS: int(1, 3650)
      .default(90)
      .describe('Daily partitions of the prediction log older than this are archived to every backup store (gzip CSV), then dropped.'),
    PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS: int(0, 600_000)
      .default(10_000)
      .describe('On shutdown, queued predictions that cannot reach Postgres within this go to the spill file (replayed at the next start).'),
    PREDICTION_LOG_STALL_SECONDS: int(1, 86_400)
      .default(60)
      .describe('/health reports the prediction log as stalled (degraded) once its oldest unwritten prediction is older than this.'),
    RATE_LIMIT_PER_MINUTE: int(1, 10_000_000)
      .default(1000)
      .describe('Requests per calendar minute per API key, across all replicas (a key may set its own limit). Per replica while Postgres is unreachable.'),
    RATE_LIMIT_EXPECTED_REPLICAS: int(1, 1000)
      .default(10)
      .describe(
        "Replicas the rate limit is shared by (the chart's maximum): each leases max(1, limit / (4 × this)) requests at a time from the shared counter in Postgres.",
      ),
    RATE_LIMIT_LEASE_TIMEOUT_MS: int(10, 10_000)
      .default(200)
      .describe('Longest a request waits for a rate-limit lease from Postgres before the replica applies the limit on its own (for 5 s).'),
    RETRAIN_COOLDOWN_HOURS: z.coerce
      .number()
      .min(0)
      .max(24 * 30)
      .default(24)
      .describe('Minimum time between automatic (drift or schedule) retrains of a model.'),
    K8S_NAMESPACE: z.string().min(1).default('churn').describe('Namespace of training Jobs (Kubernetes executor).'),
    K8S_TRAINER_IMAGE: z.string().min(1).default('ghcr.io/churn-control-plane/trainer:0.1.0').describe('Trainer image of training Jobs.'),
    K8S_TRAINER_MLFLOW_SECRET: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Secret whose MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD keys training Jobs get (only those keys), for an MLflow server behind basic auth.',
      ),
    K8S_SERVICE_ACCOUNT: z.string().min(1).default('churn-trainer').describe('Service account of training Jobs (IRSA for S3 artifacts).'),
    WEBHOOK_URLS: z
      .string()
      .transform((value, ctx) => {
        const urls = [
          ...new Set(
            value
              .split(',')
              .map((u) => u.trim())
              .filter((u) => u.length > 0),
          ),
        ];
        for (const u of urls) {
          if (!isHttpUrl(u)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not an http(s) URL: ${u}` });
        }
        return urls;
      })
      .optional()
      .describe('Comma-separated http(s) URLs that receive every webhook event (signed, retried); none when unset.'),
    WEBHOOK_SECRET: z
      .string()
      .min(16)
      .optional()
      .describe('Shared secret of the `x-churn-signature` HMAC-SHA256 of each webhook (16+ characters); required with WEBHOOK_URLS.'),
    WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(8).describe('Delivery attempts of one webhook before it is marked failed.'),
    WEBHOOK_TIMEOUT_MS: int(100, 120000).default(5000).describe('Timeout of one webhook POST.'),
    WEBHOOK_BACKOFF_BASE_MS: int(10, 600000).default(1000).describe('First retry delay of a webhook; doubles per attempt, with jitter, up to 10 minutes.'),
    BATCH_SCORING_DATA_DIR: z
      .string()
      .min(1)
      .optional()
      .describe('Directory of customer CSV files a batch-scoring run may read (`{"type":"file","path":…}`); default <DATA_DIR>/datasets.'),
    BATCH_SCORING_CHUNK_ROWS: int(100, 200000).default(10000).describe('Rows read, scored and committed together by batch scoring (the resume granularity).'),
    BATCH_SCORING_CRON: z
      .string()
      .min(1)
      .default('0 2 * * 1')
      .describe('Weekly batch scoring with the Production model (cron, SCHEDULER_TIMEZONE); default Monday 02:00.'),
    BATCH_SCORING_SOURCE: z
      .string()
      .transform((value, ctx) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be JSON, e.g. {"type":"table","table":"customers"}' });
          return z.NEVER;
        }
      })
      .pipe(
        z.discriminatedUnion('type', [
          z.object({ type: z.literal('table'), table: z.string().min(1) }).strict(),
          z.object({ type: z.literal('file'), path: z.string().min(1) }).strict(),
        ]),
      )
      .default('{"type":"table","table":"customers"}')
      .describe('Source of the weekly batch scoring (JSON): {"type":"table","table":"<name>"} or {"type":"file","path":"<name>.csv"}.'),
    OUTCOMES_MAX_PER_REQUEST: int(1, 100_000).default(10000).describe('Maximum outcomes accepted by one `POST /api/v1/outcomes`.'),
    OUTCOMES_LOOKBACK_DAYS: int(1, 3650)
      .default(90)
      .describe(
        'An outcome is matched to the latest prediction of the customer made at most this many days before it was observed (keep ≤ PREDICTION_LOG_RETENTION_DAYS).',
      ),
    OUTCOMES_PRECISION_AT_K: int(1, 1_000_000)
      .default(50)
      .describe('k of the live precision@k (share of churners among the k highest-scored matched customers).'),
    OUTCOMES_GAUGE_WINDOWS: z
      .string()
      .regex(/^\s*[1-9][0-9]{0,4}[hd]\s*(,\s*[1-9][0-9]{0,4}[hd]\s*)*$/, 'must be comma-separated windows such as 7d,30d or 24h')
      .transform((v) => [...new Set(v.split(',').map((w) => w.trim()))])
      .default('30d')
      .describe('Windows (of outcome observation time) of the `churn_model_accuracy{window}` gauges, comma-separated, e.g. `7d,30d`.'),
    OUTCOMES_METRICS_REFRESH_MS: int(10_000, 86_400_000)
      .default(3_600_000)
      .describe('How often each replica recomputes the live-accuracy gauges (also after each outcomes upload it receives, and at start).'),
    OUTCOMES_REPORT_CRON: z
      .string()
      .min(1)
      .default('0 5 1 * *')
      .describe('Monthly outcome comparison report of the previous calendar month (cron, SCHEDULER_TIMEZONE); default the 1st at 05:00.'),
    DRIFT_SCHEDULE_CRON: z
      .string()
      .min(1)
      .default('0 4 * * *')
      .describe('Daily drift analysis of the Production model (cron, SCHEDULER_TIMEZONE); default 04:00.'),
    DRIFT_SCHEDULE_WINDOWS: z
      .string()
      .transform((value, ctx) => {
        const windows = [
          ...new Set(
            value
              .split(',')
              .map((w) => w.trim())
              .filter((w) => w.length > 0),
          ),
        ];
        for (const w of windows) {
          if (w !== '24h' && w !== '7d') ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown window '${w}' (24h or 7d)` });
        }
        return windows as ('24h' | '7d')[];
      })
      .default('24h,7d')
      .describe('Windows of logged predictions the scheduled drift job analyses (comma-separated: 24h, 7d).'),
    DRIFT_MIN_SAMPLES: int(1, 100_000_000)
      .default(500)
      .describe('Predictions a window needs for a drift verdict; fewer give `insufficient_data` (never an alarm).'),
    DRIFT_PSI_MONITOR: z.coerce.number().positive().default(0.1).describe('PSI at or above which a feature (or the score) is `monitor` (seed 004: 0.1).'),
    DRIFT_PSI_RETRAIN: z.coerce.number().positive().default(0.25).describe('PSI at or above which a feature (or the score) is `retrain` (seed 004: 0.25).'),
    DRIFT_RETRAIN_MIN_FEATURES: int(1, 100)
      .default(3)
      .describe('Features at or above DRIFT_PSI_RETRAIN that make drift severe (the score alone suffices): a retrain is requested and audited.'),
    BACKUP_LOCAL_DIR: z
      .string()
      .min(1)
      .optional()
      .describe('Local backup store (manifests, content-addressed objects, pgBackRest repo 1); default <DATA_DIR>/backups.'),
    BACKUP_LOCAL_RETENTION_DAYS: int(1, 3650).default(7).describe('Days a backup is kept in the local store (pgBackRest repo 1 too).'),
    BACKUP_S3_BUCKET: z.string().min(3).optional().describe('S3 bucket of the off-site backup store; no S3 copy when unset.'),
    BACKUP_S3_PREFIX: z.string().default('churn-control-plane').describe('Key prefix of every backup object in BACKUP_S3_BUCKET.'),
    BACKUP_S3_REGION: z.string().min(1).default('us-east-1').describe('Region of BACKUP_S3_BUCKET.'),
    BACKUP_S3_ENDPOINT: z
      .string()
      .refine(isHttpUrl, 'must be an http(s) URL')
      .optional()
      .describe('S3 endpoint override (an S3-compatible server or a VPC endpoint); path-style addressing is used with it.'),
    BACKUP_S3_CA_FILE: z.string().min(1).optional().describe('PEM file of extra CA certificates trusted for BACKUP_S3_ENDPOINT.'),
    BACKUP_S3_KMS_KEY_ID: z.string().min(1).optional().describe('KMS key id/ARN: every object is written with SSE-KMS under it; SSE-S3 when unset.'),
    BACKUP_S3_RETENTION_DAYS: int(1, 36500).default(90).describe('Days a backup is kept in S3 (pgBackRest repo 2 too).'),
    BACKUP_DB_CRON: z.string().min(1).default('0 2 * * *').describe("When the logical backup (pg_dump -Fc of our database and MLflow's backend store) runs."),
    BACKUP_ARTIFACTS_CRON: z.string().min(1).default('0 3 * * *').describe("When the incremental, content-addressed backup of MLflow's artifacts runs."),
    BACKUP_DRILL_CRON: z
      .string()
      .min(1)
      .default('0 4 * * 0')
      .describe('When the restore drill (restore the latest backup into scratch copies and verify it) runs.'),
    BACKUP_WAL_ARCHIVING: bool
      .optional()
      .describe(
        'Continuous WAL archiving with pgBackRest of the embedded Postgres (point-in-time restore); default on in local mode when pgbackrest is installed.',
      ),
    BACKUP_WAL_ARCHIVE_TIMEOUT_S: int(10, 3600).default(60).describe('archive_timeout of the archived Postgres: the most WAL time a crash can lose (the RPO).'),
    BACKUP_PGBACKREST_BIN: z.string().min(1).default('pgbackrest').describe('The pgbackrest executable.'),
    BACKUP_PG_DUMP_BIN: z
      .string()
      .min(1)
      .default('pg_dump')
      .describe('The pg_dump executable (major version 15, like the server); pg_restore is looked up beside it.'),
    BACKUP_MLFLOW_BACKEND_STORE_URI: z
      .string()
      .min(1)
      .optional()
      .describe("MLflow's backend store (sqlite:///path or postgresql://...); default sqlite:///<DATA_DIR>/mlflow/mlflow.db in local mode."),
    BACKUP_MLFLOW_ARTIFACTS_DIR: z
      .string()
      .min(1)
      .optional()
      .describe("Directory of MLflow's artifacts (its --artifacts-destination); default <DATA_DIR>/mlflow/artifacts in local mode."),
    CLI_API_URL: z.string().url().optional().describe('Service the CLI talks to (train, ...); default http://127.0.0.1:<PORT>.'),
    CLI_API_KEY: z.string().min(1).optional().describe('API key the CLI sends; default the key in <DATA_DIR>/admin-api-key.'),
    KUBECONFIG: z.string().min(1).optional().describe('kubeconfig file for the Kubernetes executor; in-cluster credentials when unset.'),
    CONSOLE_SESSION_TTL_S: int(60, 7 * 86_400)
      .default(28_800)
      .describe('Lifetime of an operator-console session (the churn_session cookie), in seconds; the key it was opened with must stay valid too.'),
    CONSOLE_SIGNIN_FAILURES_PER_MINUTE: int(1, 10_000)
      .default(10)
      .describe('Failed console sign-ins allowed per client IP and minute (per replica); further attempts get 429 with Retry-After.'),
    CONSOLE_DIR: z
      .string()
      .min(1)
      .default('web/dist')
      .describe('Directory of the built operator console served at /console (`npm run build:web`); relative to the project root.'),
  })
  .superRefine((c, ctx) => {
    if (c.RISK_MEDIUM_THRESHOLD >= c.RISK_HIGH_THRESHOLD) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['RISK_MEDIUM_THRESHOLD'],
        message: `must be below RISK_HIGH_THRESHOLD (${c.RISK_HIGH_THRESHOLD})`,
      });
    }
    if (c.EVENTS_RECONNECT_MIN_MS > c.EVENTS_RECONNECT_MAX_MS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['EVENTS_RECONNECT_MIN_MS'],
        message: `must not exceed EVENTS_RECONNECT_MAX_MS (${c.EVENTS_RECONNECT_MAX_MS})`,
      });
    }
    if (c.DRIFT_PSI_MONITOR >= c.DRIFT_PSI_RETRAIN) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['DRIFT_PSI_MONITOR'], message: `must be below DRIFT_PSI_RETRAIN (${c.DRIFT_PSI_RETRAIN})` });
    }
    if ((c.MLFLOW_TRACKING_USERNAME === undefined) !== (c.MLFLOW_TRACKING_PASSWORD === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [c.MLFLOW_TRACKING_USERNAME === undefined ? 'MLFLOW_TRACKING_USERNAME' : 'MLFLOW_TRACKING_PASSWORD'],
        message: 'MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD go together: set both, or neither',
      });
    }
    if (c.WEBHOOK_URLS && c.WEBHOOK_URLS.length > 0 && !c.WEBHOOK_SECRET) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['WEBHOOK_SECRET'],
        message: 'is required when WEBHOOK_URLS is set (receivers verify the x-churn-signature with it)',
      });
    }
  });

export type AppConfig = z.infer<typeof configSchema> & {
  /** True when the service runs its own embedded Postgres (DATABASE_URL unset). */
  readonly localMode: boolean;
  readonly serviceVersion: string;
  /** Resolved CONSOLE_DIR. */
  readonly consoleDir: string;
  /** Resolved TRAINING_DATA_DIR. */
  readonly trainingDataDir: string;
  /** Resolved BACKUP_LOCAL_DIR. */
  readonly backupLocalDir: string;
  /** Resolved BACKUP_MLFLOW_BACKEND_STORE_URI (undefined outside local mode when unset). */
  readonly mlflowBackendStoreUri: string | undefined;
  /** Resolved BACKUP_MLFLOW_ARTIFACTS_DIR (undefined outside local mode when unset). */
  readonly mlflowArtifactsDir: string | undefined;
};
