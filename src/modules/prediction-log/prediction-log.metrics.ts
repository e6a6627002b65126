import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

export const LOG_QUEUE_DEPTH = 'prediction_log_queue_depth';
export const LOG_WRITTEN = 'prediction_log_written_total';
export const LOG_SPILLED = 'prediction_log_spilled_total';
export const LOG_REPLAYED = 'prediction_log_replayed_total';
export const LOG_SPILL_BYTES = 'prediction_log_spill_bytes';
export const LOG_QUARANTINED = 'prediction_log_quarantined_total';
export const LOG_LOST = 'prediction_log_lost_total';

export const predictionLogMetrics = [
  makeGaugeProvider({ name: LOG_QUEUE_DEPTH, help: 'Predictions waiting in memory to be written to Postgres.' }),
  makeCounterProvider({ name: LOG_WRITTEN, help: 'Predictions written to Postgres directly from the queue.' }),
  makeCounterProvider({ name: LOG_SPILLED, help: 'Predictions spilled to the local file because Postgres was slow or down.' }),
  makeCounterProvider({ name: LOG_REPLAYED, help: 'Spilled predictions replayed into Postgres after recovery.' }),
  makeGaugeProvider({ name: LOG_SPILL_BYTES, help: 'Bytes of spilled predictions still waiting to be replayed.' }),
  makeCounterProvider({
    name: LOG_QUARANTINED,
    help: 'Predictions set aside in the dead-letter file instead of logged (reason: rejected_by_postgres, unserialisable, unparseable_spill_line).',
    labelNames: ['reason'],
  }),
  makeCounterProvider({ name: LOG_LOST, help: 'Answered predictions that could be neither logged, spilled nor dead-lettered (disk full or unwritable).' }),
];
