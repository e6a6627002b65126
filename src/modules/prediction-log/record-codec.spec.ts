import { PredictionRecord } from './prediction-record';
import { decodeSpillLine, encodeRecord, legacyRecordId, summariseRecord } from './record-codec';

const record = (overrides: Partial<PredictionRecord> = {}): PredictionRecord => ({
  id: '0b8f6c8e-64a4-4f5a-9d2b-2f0b8c1f7a11',
  predicted_at: '2026-12-02T10:00:00.000Z',
  request_id: 'req-1',
  row_index: 0,
  customer_hash: 'a'.repeat(64),
  model_name: 'churn-model',
  model_version: '1',
  features: { age: 40 },
  churn_probability: 0.5,
  risk_level: 'medium',
  latency_ms: 0.1,
  ...overrides,
});

function nested(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('record codec', () => {
  it('encodes a record as one JSON line and reads it back unchanged', () => {
    const encoded = encodeRecord(record({ features: { note: 'a\nb' } }));
    if (!('line' in encoded)) throw new Error(encoded.error);
    expect(encoded.line).not.toContain('\n');
    expect(decodeSpillLine(encoded.line)).toEqual({ line: encoded.line, predictedAt: Date.parse('2026-12-02T10:00:00.000Z') });
  });

  it('reports a record nested too deep to serialise instead of throwing', () => {
    expect(encodeRecord(record({ features: { deep: nested(20_000) } }))).toEqual({
      error: expect.stringMatching(/cannot be serialised: Maximum call stack size exceeded/),
    });
  });

  it('summarises such a record by its scalar fields, without touching the nested ones', () => {
    const summary = summariseRecord(record({ features: { deep: nested(20_000) } }));
    expect(summary).toMatchObject({ id: record().id, request_id: 'req-1', model_version: '1' });
    expect(summary).not.toHaveProperty('features');
  });

  it.each([
    ['a torn line', '{"id":"x","predicted_at":"2026-12-02T10:0', /not JSON/],
    ['a scalar', '42', /not a JSON object/],
    ['an array', '[1,2]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
  ])('refuses %s as a spilled record', (_, line, error) => {
    expect(decodeSpillLine(line)).toEqual({ error: expect.stringMatching(error) });
  });

  it('gives a record spilled before ids existed a stable id derived from its old key', () => {
    const { id: _id, ...old } = record();
    const a = decodeSpillLine(JSON.stringify(old));
    const b = decodeSpillLine(JSON.stringify(old));
    if (!('line' in a) || !('line' in b)) throw new Error('not decoded');
    const id = JSON.parse(a.line).id;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(b.line).id).toBe(id);
    expect(legacyRecordId({ ...old, row_index: 1 })).not.toBe(id);
  });
});
