import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import { EventBus, reconnectDelay } from './event-bus.service';
import { EVENTS } from './event-map';

function bus(): EventBus {
  const counter = (name: string) => new Counter({ name, help: name, labelNames: ['event', 'outcome'], registers: [] });
  return new EventBus(
    loadConfig({}),
    {} as DataSource,
    counter('published'),
    counter('received'),
    new Gauge({ name: 'up', help: 'up', registers: [] }),
    counter('lost'),
  );
}
const noop = { handle: () => undefined, catchUp: () => undefined };

describe('change bus', () => {
  it('backs off exponentially up to the ceiling, with jitter in the upper half', () => {
    const low = (a: number) => reconnectDelay(a, 250, 10_000, () => 0);
    const high = (a: number) => reconnectDelay(a, 250, 10_000, () => 1);
    expect([0, 1, 2, 3, 10].map(high)).toEqual([250, 500, 1000, 2000, 10_000]);
    expect([0, 1, 2, 3, 10].map(low)).toEqual([125, 250, 500, 1000, 5000]);
    expect(high(1000)).toBe(10_000);
  });

  it('gives an event type one handler, refusing a second one', () => {
    const b = bus();
    b.subscribe('stage.changed', noop);
    expect(() => b.subscribe('stage.changed', noop)).toThrow(/already has a handler/);
  });

  it('refuses to start while an event has no handler', () => {
    const b = bus();
    b.subscribe('stage.changed', noop);
    expect(() => b.onApplicationBootstrap()).toThrow(/canary\.changed/);
  });

  it('recognises the payloads it publishes and rejects others', () => {
    expect(EVENTS['stage.changed'].isPayload({ modelName: 'm', version: '2', from: 'Staging', to: 'Production', archived: '1' })).toBe(true);
    expect(EVENTS['stage.changed'].isPayload({ modelName: 'm', version: 2 })).toBe(false);
    expect(EVENTS['canary.changed'].isPayload(null)).toBe(false);
    expect(new Set(Object.values(EVENTS).map((e) => e.channel)).size).toBe(Object.keys(EVENTS).length);
  });
});
