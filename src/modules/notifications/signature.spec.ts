import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature } from './signature';

describe('webhook signature', () => {
  const secret = 'whsec_test_0123456789abcdef';
  const body = '{"id":"4f1c2d3e-0000-4000-8000-000000000001","event":"model.promoted","data":{"version":"3"}}';
  const timestamp = 1764100000;
  const now = timestamp * 1000 + 10_000;

  it('is sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")> (known vector)', () => {
    // Computed independently of signWebhook, as a receiver in another language would.
    const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    expect(signWebhook(secret, timestamp, body)).toBe(`sha256=${expected}`);
    // Fixed vector, so that a change of scheme cannot slip through by changing both sides.
    expect(signWebhook('0123456789abcdef', 1700000000, '{}')).toBe(`sha256=${createHmac('sha256', '0123456789abcdef').update('1700000000.{}').digest('hex')}`);
    expect(signWebhook('0123456789abcdef', 1700000000, '{}')).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signWebhook(secret, String(timestamp), Buffer.from(body))).toBe(signWebhook(secret, timestamp, body));
  });

  it('accepts the genuine signature', () => {
    const sig = signWebhook(secret, timestamp, body);
    expect(verifyWebhookSignature(secret, sig, String(timestamp), body, { now })).toBe(true);
    expect(verifyWebhookSignature(secret, sig, timestamp, Buffer.from(body), { now })).toBe(true);
  });

  it('rejects a tampered body, another timestamp, another secret or a malformed header', () => {
    const sig = signWebhook(secret, timestamp, body);
    expect(verifyWebhookSignature(secret, sig, timestamp, body.replace('"3"', '"4"'), { now })).toBe(false);
    expect(verifyWebhookSignature(secret, sig, timestamp + 1, body, { now })).toBe(false);
    expect(verifyWebhookSignature(`${secret}x`, sig, timestamp, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, sig.slice(0, -1), timestamp, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, sig.replace('sha256=', ''), timestamp, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, timestamp, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, sig, 'yesterday', body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, sig, undefined, body, { now })).toBe(false);
  });

  it('rejects a timestamp outside the tolerance (replay), unless the check is disabled', () => {
    const sig = signWebhook(secret, timestamp, body);
    const later = (timestamp + 301) * 1000;
    expect(verifyWebhookSignature(secret, sig, timestamp, body, { now: later })).toBe(false);
    expect(verifyWebhookSignature(secret, sig, timestamp, body, { now: (timestamp - 301) * 1000 })).toBe(false);
    expect(verifyWebhookSignature(secret, sig, timestamp, body, { now: later, toleranceSeconds: 600 })).toBe(true);
    expect(verifyWebhookSignature(secret, sig, timestamp, body, { now: later, toleranceSeconds: 0 })).toBe(true);
  });
});
