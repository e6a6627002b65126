import { MigrationInterface, QueryRunner } from 'typeorm';

export class Drift1764500000000 implements MigrationInterface {
  name = 'Drift1764500000000';

  async up(q: QueryRunner): Promise<void> {
    // One drift analysis of a window of logged predictions of one model version against its reference profile.
    await q.query(`CREATE TABLE drift_reports (
      id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      model_name             text NOT NULL,
      model_version          text NOT NULL,
      time_window            text NOT NULL CHECK (time_window IN ('24h', '7d')),
      window_start           timestamptz NOT NULL,
      window_end             timestamptz NOT NULL,
      status                 text NOT NULL CHECK (status IN ('stable', 'monitor', 'retrain', 'insufficient_data')),
      severe                 boolean NOT NULL,
      n_current              bigint NOT NULL,
      n_reference            bigint NOT NULL,
      score_psi              double precision,
      max_feature_psi        double precision,
      severe_features        text[] NOT NULL DEFAULT '{}',
      thresholds             jsonb NOT NULL,
      profile_format_version integer NOT NULL,
      trigger                text NOT NULL CHECK (trigger IN ('schedule', 'api', 'cli')),
      requested_by           text,
      retrain                jsonb,
      query_ms               real NOT NULL,
      created_at             timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX drift_reports_by_model ON drift_reports (model_name, model_version, time_window, id DESC)`);
    await q.query(`CREATE INDEX drift_reports_by_window ON drift_reports (time_window, id DESC)`);
    // Per feature (and the score, feature = 'score', kind = 'score'): PSI, its test and both histograms.
    await q.query(`CREATE TABLE drift_feature_results (
      report_id   bigint NOT NULL REFERENCES drift_reports (id) ON DELETE CASCADE,
      position    integer NOT NULL,
      feature     text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('numeric', 'categorical', 'score')),
      psi         double precision,
      verdict     text NOT NULL CHECK (verdict IN ('stable', 'monitor', 'retrain', 'insufficient_data')),
      test        text CHECK (test IN ('ks', 'chi2')),
      statistic   double precision,
      p_value     double precision,
      dof         integer,
      bins        jsonb NOT NULL,
      PRIMARY KEY (report_id, feature)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE drift_feature_results');
    await q.query('DROP TABLE drift_reports');
  }
}
