import { healthReasons } from './health.service';
import { PredictionLogStatus } from '../prediction-log/prediction-log.service';
import { ServingStatus } from '../serving/model-loader.service';

const serving: ServingStatus = {
  model_name: 'churn-model',
  model_loaded: true,
  model_version: '2',
  model_sha256: 'f'.repeat(64),
  loaded_at: '2026-12-02T10:00:00.000Z',
  desired_version: '2',
  last_error: null,
};
const log: PredictionLogStatus = {
  status: 'up',
  in_memory: 0,
  spill_bytes: 0,
  oldest_unwritten_at: null,
  oldest_unwritten_age_seconds: null,
  stall_after_seconds: 60,
  postgres_accepting: true,
  postgres_error: null,
  spill_dir: '/data/prediction-spill',
  spill_error: null,
  quarantined_since_start: 0,
  lost_since_start: 0,
  dead_letter_dir: '/data/prediction-spill/dead-letter',
};
const up = { status: 'up' as const, latency_ms: 1 };
const down = { status: 'down' as const, latency_ms: 2000, error: 'no answer within 2000 ms' };

describe('healthReasons', () => {
  it('has nothing to say when everything works', () => {
    expect(healthReasons(serving, up, up, log)).toEqual([]);
  });

  it('says what each outage means for callers, one sentence per cause', () => {
    const stalled: PredictionLogStatus = {
      ...log,
      status: 'stalled',
      in_memory: 12,
      spill_bytes: 3000,
      oldest_unwritten_age_seconds: 75,
      postgres_accepting: false,
      postgres_error: 'no answer within 5000 ms',
    };
    expect(healthReasons(serving, down, down, { ...stalled, spill_error: 'ENOSPC: no space left on device', lost_since_start: 7 })).toEqual([
      'Postgres is unreachable (no answer within 2000 ms): predictions are still served and spilled to disk for replay; the control API and jobs need it',
      'MLflow is unreachable (no answer within 2000 ms): the loaded model keeps serving; new versions cannot be loaded',
      'prediction log stalled: the oldest prediction not yet in Postgres is 75 s old (limit 60 s; 12 in memory, 3000 bytes spilled; last error: no answer within 5000 ms)',
      'the prediction spill directory /data/prediction-spill is not writable (ENOSPC: no space left on device): free space there or make it writable; while Postgres is unreachable, ' +
        'predictions are held in memory only and the oldest are lost beyond PREDICTION_LOG_QUEUE_MAX (7 lost since start)',
    ]);
  });

  it('names a refused or pending version, and a missing model', () => {
    expect(healthReasons({ ...serving, desired_version: '3', last_error: { version: '3', message: 'test vectors fail', at: '' } }, up, up, log)).toEqual([
      'serving version 2 while Production is version 3 (refused: test vectors fail)',
    ]);
    expect(healthReasons({ ...serving, desired_version: '3' }, up, up, log)).toEqual(['serving version 2 while Production is version 3 (loading)']);
    expect(healthReasons({ ...serving, model_loaded: false, model_version: null, desired_version: null }, up, up, log)).toEqual([
      "no model loaded yet for 'churn-model'; /predict answers 503 until a Production version is loaded",
    ]);
  });
});
