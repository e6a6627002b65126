import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { KeyVerifier } from '../../common/auth/key-verifier';
import { Principal, Role } from '../../common/auth/roles';
import { CommonError, ConflictError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { AuditService } from '../audit/audit.service';

const KEY_PATTERN = /^chk_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{20,})$/;
const ALPHANUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// Verified keys are remembered briefly so that /predict does not touch the database per request.
const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

export interface CreatedKey {
  key: string;
  record: ApiKeyEntity;
}

export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  model_name: string | null;
  rate_limit_per_minute: number | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  state: 'active' | 'expired' | 'revoked';
}

export function toKeyView(k: ApiKeyEntity): ApiKeyView {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    model_name: k.modelName,
    rate_limit_per_minute: k.rateLimitPerMinute,
    created_at: k.createdAt.toISOString(),
    expires_at: k.expiresAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    state: k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt.getTime() <= Date.now() ? 'expired' : 'active',
  };
}

export interface CreateKeyInput {
  name: string;
  role: Role;
  modelName?: string | null;
  expiresAt?: Date | null;
  rateLimitPerMinute?: number | null;
}

@Injectable()
export class ApiKeysService implements KeyVerifier {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache = new Map<string, { principal: Principal; hash: Buffer; until: number; expiresAt: number | null }>();

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @Optional() private readonly audit?: AuditService,
  ) {}

  /** Creates a key for an admin over the API; the creation (never the secret) is audited. */
  async createAudited(input: CreateKeyInput, actor: Principal, requestId?: string): Promise<ApiKeyView & { key: string }> {
    const { key, record } = await this.create(input);
    await this.audit?.record({
      actorKeyId: actor.keyId,
      action: 'api_key.created',
      targetType: 'api_key',
      targetId: record.id,
      modelName: record.modelName,
      after: { name: record.name, role: record.role, model_name: record.modelName, expires_at: record.expiresAt },
      requestId: requestId ?? null,
    });
    return { ...toKeyView(record), key };
  }

  async list(): Promise<ApiKeyView[]> {
    return (await this.keys.find({ order: { createdAt: 'ASC' } })).map(toKeyView);
  }

  async revoke(id: string, actor: Principal, requestId?: string): Promise<ApiKeyView> {
    const row = await this.keys.findOneBy({ id });
    if (!row) throw new NotFoundError(`API key '${id}' does not exist.`);
    if (row.revokedAt) throw new ConflictError(`API key '${id}' is already revoked.`);
    if (id === actor.keyId) throw new ConflictError('You cannot revoke the key you are using; use another admin key.');
    row.revokedAt = new Date();
    await this.keys.save(row);
    this.cache.delete(id);
    await this.audit?.record({
      actorKeyId: actor.keyId,
      action: 'api_key.revoked',
      targetType: 'api_key',
      targetId: id,
      modelName: row.modelName,
      before: { state: 'active' },
      after: { state: 'revoked' },
      requestId: requestId ?? null,
    });
    return toKeyView(row);
  }

  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const id = randomString(8);
    const key = `chk_${id}_${randomBytes(32).toString('base64url')}`;
    return { key, record: await this.store(id, key, input) };
  }

  /** Ensures a key given from outside (a secret store) exists, e.g. BOOTSTRAP_ADMIN_API_KEY. */
  async ensure(key: string, input: CreateKeyInput): Promise<ApiKeyEntity> {
    const match = KEY_PATTERN.exec(key);
    if (!match) throw new Error('API key has the wrong format: expected chk_<8 alphanumerics>_<secret>');
    const existing = await this.keys.findOneBy({ id: match[1] });
    if (existing) {
      if (existing.keyHash !== sha256(key)) throw new Error(`An API key with id ${match[1]} already exists with a different secret.`);
      return existing;
    }
    return this.store(match[1], key, input);
  }

  async count(): Promise<number> {
    return this.keys.count();
  }

  /** Returns the principal for a presented key, or undefined when it is unknown, revoked or expired. */
  async verify(presented: string): Promise<Principal | undefined> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return undefined;
    const hash = Buffer.from(sha256(presented), 'hex');
    const now = Date.now();
    const cached = this.cache.get(match[1]);
    if (cached && cached.until > now && (cached.expiresAt === null || cached.expiresAt > now)) {
      return timingSafeEqual(cached.hash, hash) ? cached.principal : undefined;
    }
    let row: ApiKeyEntity | null;
    try {
      row = await this.keys.findOneBy({ id: match[1] });
    } catch (err) {
      // Database down: a key verified recently stays valid, so serving keeps working through the outage.
      if (cached && (cached.expiresAt === null || cached.expiresAt > now)) {
        return timingSafeEqual(cached.hash, hash) ? cached.principal : undefined;
      }
      throw new CommonError(ErrorCode.DATABASE_UNAVAILABLE, 'API keys cannot be checked because the database is unreachable; retry shortly.', {
        headers: { 'retry-after': '5' },
      });
    }
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= now)) return undefined;
    const stored = Buffer.from(row.keyHash, 'hex');
    if (!timingSafeEqual(stored, hash)) return undefined;
    const principal: Principal = { keyId: row.id, role: row.role, modelName: row.modelName, rateLimitPerMinute: row.rateLimitPerMinute };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(row.id, { principal, hash: stored, until: now + CACHE_TTL_MS, expiresAt: row.expiresAt?.getTime() ?? null });
    void this.keys.update({ id: row.id }, { lastUsedAt: new Date() }).catch((err) => this.logger.warn(`could not record key use: ${err}`));
    return principal;
  }

  /**
   * The principal and expiry of a live key named by id (a console session names its key so), read from
   * the database each time so that revoking or expiring the key ends its sessions at once.
   */
  async liveKey(keyId: string): Promise<{ principal: Principal; expiresAt: Date | null } | undefined> {
    const row = await this.keys.findOneBy({ id: keyId });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    return {
      principal: { keyId: row.id, role: row.role, modelName: row.modelName, rateLimitPerMinute: row.rateLimitPerMinute },
      expiresAt: row.expiresAt,
    };
  }

  private async store(id: string, key: string, input: CreateKeyInput): Promise<ApiKeyEntity> {
    return this.keys.save(
      this.keys.create({
        id,
        name: input.name,
        keyHash: sha256(key),
        role: input.role,
        modelName: input.modelName ?? null,
        expiresAt: input.expiresAt ?? null,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      }),
    );
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function randomString(n: number): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => ALPHANUM[b % ALPHANUM.length]).join('');
}
