import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Principal } from 'src/common/auth/roles';
import { AppError, ErrorCode } from 'src/common/errors/app-error';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Per-key token bucket (per replica): a key may burst up to its per-minute limit and then gets
 * one request per (60 s / limit). Over the limit: 429 with Retry-After.
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Takes one token for the key or throws 429; returns the headers to send. */
  take(principal: Principal, now = Date.now()): Record<string, string> {
    const limit = principal.rateLimitPerMinute ?? this.config.RATE_LIMIT_PER_MINUTE;
    const perMs = limit / 60_000;
    let bucket = this.buckets.get(principal.keyId);
    if (!bucket) {
      bucket = { tokens: limit, updatedAt: now };
      this.buckets.set(principal.keyId, bucket);
    }
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new AppError(
        HttpStatus.TOO_MANY_REQUESTS,
        ErrorCode.RATE_LIMITED,
        `API key ${principal.keyId} exceeded its limit of ${limit} requests per minute; retry after ${retryAfter} s or ask an admin for a higher limit.`,
        undefined,
        { 'retry-after': String(retryAfter), 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0' },
      );
    }
    bucket.tokens -= 1;
    return { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(Math.floor(bucket.tokens)) };
  }
}
