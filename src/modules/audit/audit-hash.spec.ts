import { createHash, createHmac } from 'node:crypto';
import { canonicalJson, entryHash, GENESIS_HASH, HashedFields, keyedEntryHash, schemeHash, toJsonValue } from './audit-hash';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and writes no spaces', () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x y' } };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x y","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same text whatever the key order (as jsonb hands keys back reordered)', () => {
    const one = { model: 'churn-model', stage: 'Production', metrics: { roc_auc: 0.81, pr_auc: 0.62 } };
    const other = { metrics: { pr_auc: 0.62, roc_auc: 0.81 }, stage: 'Production', model: 'churn-model' };
    expect(canonicalJson(one)).toBe(canonicalJson(other));
  });

  it('treats values JSON cannot hold like JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: () => 1, c: [undefined, NaN, Infinity], d: new Date('2025-11-26T10:00:00.123Z') })).toBe(
      '{"c":[null,null,null],"d":"2025-11-26T10:00:00.123Z"}',
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('quote " and \\ and \n')).toBe(JSON.stringify('quote " and \\ and \n'));
    expect(() => canonicalJson({ n: BigInt(1) })).toThrow(/BigInt/);
  });

  it('equals JSON.stringify for values whose keys are already sorted', () => {
    const value = { a: [1, 2.5, -0.001, 'ü€😀'], b: { c: false, d: null }, e: 1e21 };
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });
});

describe('toJsonValue', () => {
  it('is what a jsonb column gives back: JSON round trip, undefined as null', () => {
    expect(toJsonValue(undefined)).toBeNull();
    expect(toJsonValue({ at: new Date('2025-01-01T00:00:00.000Z'), gone: undefined })).toEqual({ at: '2025-01-01T00:00:00.000Z' });
  });
});

describe('entryHash', () => {
  const fields: HashedFields = {
    at: '2025-11-26T10:00:00.123Z',
    actor_key_id: 'a1B2c3D4',
    action: 'stage.override',
    target_type: 'model_version',
    target_id: 'churn-model/3',
    model_name: 'churn-model',
    before: { stage: 'Staging' },
    after: { stage: 'Production' },
    reason: 'hotfix',
    request_id: 'req-1',
  };

  it("is sha256hex(prev_hash + '\\n' + canonical JSON of the covered fields)", () => {
    const canonical =
      '{"action":"stage.override","actor_key_id":"a1B2c3D4","after":{"stage":"Production"},"at":"2025-11-26T10:00:00.123Z",' +
      '"before":{"stage":"Staging"},"model_name":"churn-model","reason":"hotfix","request_id":"req-1","target_id":"churn-model/3","target_type":"model_version"}';
    const expected = createHash('sha256').update(`${GENESIS_HASH}\n${canonical}`).digest('hex');
    expect(entryHash(GENESIS_HASH, fields)).toBe(expected);
    expect(entryHash(GENESIS_HASH, fields)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the key order of before/after, and treats absent before/after as null', () => {
    const reordered = { ...fields, after: { stage: 'Production' }, before: JSON.parse('{"stage":"Staging"}') };
    expect(entryHash(GENESIS_HASH, reordered)).toBe(entryHash(GENESIS_HASH, fields));
    expect(entryHash(GENESIS_HASH, { ...fields, before: undefined })).toBe(entryHash(GENESIS_HASH, { ...fields, before: null }));
  });

  it('changes when any covered field or the previous hash changes', () => {
    const base = entryHash(GENESIS_HASH, fields);
    const variants: Partial<HashedFields>[] = [
      { at: '2025-11-26T10:00:00.124Z' },
      { actor_key_id: 'system' },
      { actor_key_id: null },
      { action: 'promotion.approved' },
      { target_type: 'api_key' },
      { target_id: 'churn-model/4' },
      { model_name: null },
      { before: { stage: 'None' } },
      { after: { stage: 'Production', extra: 1 } },
      { reason: null },
      { request_id: 'req-2' },
    ];
    for (const v of variants) expect(entryHash(GENESIS_HASH, { ...fields, ...v })).not.toBe(base);
    expect(entryHash('f'.repeat(64), fields)).not.toBe(base);
  });
});

describe('keyedEntryHash', () => {
  const key = Buffer.from('audit-hmac-key-for-unit-tests-0123456789');
  const fields: HashedFields = {
    at: '2025-11-26T10:00:00.123Z',
    actor_key_id: 'system',
    action: 'model.rolled_back',
    target_type: 'model_version',
    target_id: 'churn-model/3',
    model_name: 'churn-model',
    before: null,
    after: { stage: 'Production' },
    reason: null,
    request_id: null,
  };

  it("is hex(HMAC-SHA256(key, 'hmac-sha256\\n' + prev_hash + '\\n' + canonical JSON))", () => {
    const canonical = canonicalJson({ ...fields });
    const expected = createHmac('sha256', key).update(`hmac-sha256\n${GENESIS_HASH}\n${canonical}`).digest('hex');
    expect(keyedEntryHash(key, GENESIS_HASH, fields)).toBe(expected);
  });

  it('cannot be recomputed with the public formula or another key', () => {
    const keyed = keyedEntryHash(key, GENESIS_HASH, fields);
    expect(keyed).not.toBe(entryHash(GENESIS_HASH, fields));
    expect(keyed).not.toBe(keyedEntryHash(Buffer.from('another-key-of-the-same-length-0123456789'), GENESIS_HASH, fields));
  });

  it('is chosen by the scheme of the entry', () => {
    expect(schemeHash('sha256', key, GENESIS_HASH, fields)).toBe(entryHash(GENESIS_HASH, fields));
    expect(schemeHash('hmac-sha256', key, GENESIS_HASH, fields)).toBe(keyedEntryHash(key, GENESIS_HASH, fields));
  });
});
