import { GateResult } from '../../common/quality/quality-gates';

/** The trainer's stdout protocol (trainer/README.md): one JSON object per line, the last one is the result. */
export interface PhaseEvent {
  event: 'phase';
  phase: string;
  at: string;
}

export interface TrainerResult {
  event: 'result';
  status: 'succeeded' | 'validation_failed';
  run_id: string | null;
  model_name: string;
  version: string | null;
  model_sha256: string | null;
  artifact_uri: string | null;
  model_family: string | null;
  metrics: Record<string, number>;
  gates: GateResult[];
  gates_passed: boolean;
  champion: { version: string; metrics: Record<string, number> } | null;
  validation: { passed: boolean; checks: { name: string; passed: boolean; detail: string }[] };
  duration_seconds: number;
}

export type TrainerEvent = PhaseEvent | TrainerResult;

/** Parses one stdout line; undefined when it is not a protocol event (e.g. a stray print). */
export function parseTrainerLine(line: string): TrainerEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(trimmed) as { event?: unknown };
    if (value.event === 'phase' && typeof (value as PhaseEvent).phase === 'string') return value as PhaseEvent;
    if (value.event === 'result' && typeof (value as TrainerResult).status === 'string') return value as TrainerResult;
  } catch {
    /* not JSON */
  }
  return undefined;
}

export const TRAINER_EXIT_CODES: Record<number, string> = {
  1: 'the trainer failed unexpectedly',
  2: 'the trainer was called with invalid arguments',
  3: 'the trainer could not talk to MLflow',
  4: 'the ONNX export or its parity check could not be computed',
  5: 'data validation failed',
};
