import { createHash, createHmac } from 'node:crypto';
import { hmacPads } from './prediction-log.service';

/** The construction customerHashSql has Postgres compute, checked in Node against crypto's HMAC. */
function viaPads(key: Buffer, id: string): string {
  const { inner, outer } = hmacPads(key);
  const innerHash = createHash('sha256')
    .update(Buffer.concat([inner, Buffer.from(id, 'utf8')]))
    .digest();
  return createHash('sha256')
    .update(Buffer.concat([outer, innerHash]))
    .digest('hex');
}

describe('customer hash in SQL (hmacPads)', () => {
  it.each([
    ['a short key', Buffer.from('system-test-pii-hash-key', 'utf8')],
    ['a key of exactly 64 bytes', Buffer.alloc(64, 7)],
    ['a key longer than a block', Buffer.from('k'.repeat(100), 'utf8')],
  ])('gives the same hash as hashCustomer for %s', (_, key) => {
    for (const id of ['CUST-1', '', 'Zoë-ünïcode-客户', 'x'.repeat(128)]) {
      expect(viaPads(key, id)).toBe(createHmac('sha256', key).update(id).digest('hex'));
    }
  });
});
