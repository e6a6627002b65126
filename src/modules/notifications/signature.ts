import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing scheme (shared with receivers such as the CS dashboard and the CRM):
 *
 *   x-churn-timestamp: <unix seconds when the attempt was sent>
 *   x-churn-signature: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, "<timestamp>.<raw body>")>
 *
 * A receiver recomputes the HMAC over the raw bytes it received (before any JSON parsing), compares
 * in constant time, and refuses timestamps too far from its own clock (replays).
 */
export const WEBHOOK_HEADERS = {
  event: 'x-churn-event',
  delivery: 'x-churn-delivery',
  timestamp: 'x-churn-timestamp',
  signature: 'x-churn-signature',
} as const;

const PREFIX = 'sha256=';
/** Default replay window of verifyWebhookSignature. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex>` for one request. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  return PREFIX + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export interface VerifyOptions {
  /** Largest accepted |now − timestamp| in seconds; default 300. 0 or less disables the check. */
  toleranceSeconds?: number;
  /** Current time in ms (tests). */
  now?: number;
}

/**
 * True when `signature` (the x-churn-signature header) is the HMAC of `timestamp` and the raw `body`
 * under `secret`, and the timestamp is within the tolerance. Compares in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  signature: string | undefined,
  timestamp: string | number | undefined,
  body: string | Buffer,
  options: VerifyOptions = {},
): boolean {
  if (!signature || timestamp === undefined || !/^\d{1,12}$/.test(String(timestamp))) return false;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (tolerance > 0) {
    const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) return false;
  }
  const expected = Buffer.from(signWebhook(secret, timestamp, body), 'utf8');
  const presented = Buffer.from(signature.trim(), 'utf8');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
