import type { Stage } from '../registry/stages';

/** A version moved between stages (one event per stage-change request, committed with it). */
export interface StageChangedEvent {
  modelName: string;
  version: string;
  from: Stage;
  to: Stage;
  /** The Production version this change archived (a promotion to Production), else null. */
  archived: string | null;
}

/** A canary or shadow challenger was started or ended. */
export interface CanaryChangedEvent {
  modelName: string;
  /** The canary's id. */
  id: string;
}

/** Every event that crosses replicas, with its payload. Add an event here, then give it one handler. */
export interface EventMap {
  'stage.changed': StageChangedEvent;
  'canary.changed': CanaryChangedEvent;
}
export type EventName = keyof EventMap;

/**
 * The Postgres channel of each event (kept from before the bus, so that replicas of the previous
 * release still hear a rolling deploy's changes), and a check of a payload read from the wire.
 */
export const EVENTS: { [E in EventName]: { channel: string; isPayload(value: unknown): value is EventMap[E] } } = {
  'stage.changed': {
    channel: 'churn_stage_changed',
    isPayload: (v): v is StageChangedEvent => hasStrings(v, ['modelName', 'version', 'from', 'to']),
  },
  'canary.changed': {
    channel: 'churn_canary_changed',
    isPayload: (v): v is CanaryChangedEvent => hasStrings(v, ['modelName', 'id']),
  },
};

/** Postgres refuses a NOTIFY payload of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7999;

function hasStrings(value: unknown, keys: string[]): boolean {
  return typeof value === 'object' && value !== null && keys.every((k) => typeof (value as Record<string, unknown>)[k] === 'string');
}
