import type { EventMap, EventName } from '../../../src/modules/events/event-map';
import type { AuditRecordInput } from '../../../src/modules/audit/audit.service';

/** Records what a service audits (the hash chain itself is tested in the audit module and the e2e tests). */
export class FakeAudit {
  readonly entries: AuditRecordInput[] = [];

  async record(entry: AuditRecordInput): Promise<void> {
    this.entries.push(entry);
  }

  actions(): string[] {
    return this.entries.map((e) => e.action);
  }
}

/** Records the webhook events a service emits (the outbox and delivery are tested with the notifications module). */
export class FakeNotifications {
  readonly events: { event: string; data: Record<string, unknown> }[] = [];

  async emit(event: string, data: Record<string, unknown>): Promise<void> {
    this.events.push({ event, data });
  }

  names(): string[] {
    return this.events.map((e) => e.event);
  }
}

/** Records the change events a service publishes (delivery between replicas is tested on real Postgres in test/e2e/change-bus). */
export class FakeEventBus {
  readonly published: { event: EventName; payload: EventMap[EventName]; inTransaction: boolean }[] = [];

  async publish<E extends EventName>(event: E, payload: EventMap[E], manager?: unknown): Promise<void> {
    this.published.push({ event, payload, inTransaction: manager !== undefined });
  }

  subscribe(): void {}
}
