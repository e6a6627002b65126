import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ValidationFailedError } from 'src/common/errors/app-error';
import { AuditEntryEntity } from 'src/modules/audit/audit-entry.entity';
import { entryHash, GENESIS_HASH, HashedFields, toJsonValue } from 'src/modules/audit/audit-hash';
import { AuditEntryList, AuditEntryView, AuditVerification } from 'src/modules/audit/dto/audit.responses';
import { AUDIT_LIST_DEFAULT_LIMIT, AUDIT_LIST_MAX_LIMIT } from 'src/modules/audit/dto/list-audit.query';

/** Serializes every writer of the chain (shared by all replicas; the migration lock is 727_001). */
export const AUDIT_CHAIN_LOCK_KEY = 727_002;
/** Rows read per query by verify(), so that the table is never loaded at once. */
const VERIFY_PAGE_SIZE = 500;

export interface AuditRecordInput {
  /** API key id of the caller, or 'system'. */
  actorKeyId: string | null;
  /** What happened, e.g. 'stage.override', 'promotion.approved', 'api_key.created'. */
  action: string;
  targetType: string;
  targetId: string;
  modelName?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  requestId?: string | null;
}

export interface AuditListFilter {
  modelName?: string;
  actorKeyId?: string;
  action?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** Default 100, at most 1000. */
  limit?: number;
  /** Only entries with a smaller id (paging). */
  beforeId?: string;
}

/**
 * The audit trail: append-only (enforced by database triggers) and hash-chained, so that a row changed
 * or removed behind the service's back (a superuser disabling the triggers) is detected by verify().
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Appends an entry. Pass the EntityManager of an open transaction to write the entry in that
   * transaction, atomically with the change it records (a rollback leaves no entry); without one the
   * entry is written in its own transaction. Writers are serialized by a transaction-scoped advisory
   * lock that is held until the transaction ends, so keep the caller's transaction short once it has
   * recorded. The caller's transaction must be READ COMMITTED (the default): a serializable snapshot
   * taken before the lock could miss the newest entry, and the insert then fails on the unique prev_hash
   * instead of forking the chain.
   */
  async record(entry: AuditRecordInput, manager?: EntityManager): Promise<AuditEntryView> {
    if (manager?.queryRunner?.isTransactionActive) return this.append(manager, entry);
    return (manager ?? this.db.manager).transaction((tx) => this.append(tx, entry));
  }

  /** Entries newest first, filtered; page with `beforeId` = `next_before_id` of the previous page. */
  async list(filter: AuditListFilter = {}): Promise<AuditEntryList> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? AUDIT_LIST_DEFAULT_LIMIT), 1), AUDIT_LIST_MAX_LIMIT);
    if (filter.from && filter.to && filter.from.getTime() >= filter.to.getTime()) {
      throw new ValidationFailedError([{ field: 'to', message: 'to must be later than from' }]);
    }
    const qb = this.db.getRepository(AuditEntryEntity).createQueryBuilder('e');
    if (filter.modelName !== undefined) qb.andWhere('e.model_name = :modelName', { modelName: filter.modelName });
    if (filter.actorKeyId !== undefined) qb.andWhere('e.actor_key_id = :actorKeyId', { actorKeyId: filter.actorKeyId });
    if (filter.action !== undefined) qb.andWhere('e.action = :action', { action: filter.action });
    if (filter.from) qb.andWhere('e.at >= :from', { from: filter.from.toISOString() });
    if (filter.to) qb.andWhere('e.at < :to', { to: filter.to.toISOString() });
    if (filter.beforeId !== undefined) qb.andWhere('e.id < :beforeId', { beforeId: filter.beforeId });
    const rows = await qb.orderBy('e.id', 'DESC').limit(limit + 1).getMany();
    const page = rows.slice(0, limit);
    return { entries: page.map(toView), next_before_id: rows.length > limit ? page[page.length - 1].id : null };
  }

  /**
   * Walks the whole chain in id order, a page at a time, recomputing every hash and checking that every
   * prev_hash is the hash of the entry before it. Stops at the first broken entry.
   */
  async verify(): Promise<AuditVerification> {
    const repo = this.db.getRepository(AuditEntryEntity);
    let checked = 0;
    let previous: { id: string; hash: string } | null = null;
    for (;;) {
      const qb = repo.createQueryBuilder('e').orderBy('e.id', 'ASC').limit(VERIFY_PAGE_SIZE);
      if (previous) qb.where('e.id > :after', { after: previous.id });
      const rows = await qb.getMany();
      for (const row of rows) {
        checked++;
        const expectedPrev = previous?.hash ?? GENESIS_HASH;
        if (row.prevHash !== expectedPrev) {
          const reason = previous
            ? `prev_hash does not link to entry ${previous.id}`
            : 'prev_hash of the first entry is not the genesis hash (earlier entries were removed)';
          return { valid: false, checked, first_broken: { id: row.id, reason } };
        }
        if (entryHash(row.prevHash, hashedFields(row)) !== row.hash) {
          return { valid: false, checked, first_broken: { id: row.id, reason: 'hash does not match the entry (the row was altered)' } };
        }
        previous = { id: row.id, hash: row.hash };
      }
      if (rows.length < VERIFY_PAGE_SIZE) return { valid: true, checked, first_broken: null };
    }
  }

  private async append(tx: EntityManager, entry: AuditRecordInput): Promise<AuditEntryView> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK_KEY]);
    const head: { hash: string }[] = await tx.query('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1');
    const prevHash = head[0]?.hash ?? GENESIS_HASH;
    // Taken under the lock, so that time order follows chain order.
    const at = new Date();
    const fields: HashedFields = {
      at: at.toISOString(),
      actor_key_id: entry.actorKeyId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      model_name: entry.modelName ?? null,
      before: toJsonValue(entry.before),
      after: toJsonValue(entry.after),
      reason: entry.reason ?? null,
      request_id: entry.requestId ?? null,
    };
    const hash = entryHash(prevHash, fields);
    const inserted: { id: string }[] = await tx.query(
      `INSERT INTO audit_log (at, actor_key_id, action, target_type, target_id, model_name, before, after, reason, request_id, prev_hash, hash)
       VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12)
       RETURNING id`,
      [
        fields.at,
        fields.actor_key_id,
        fields.action,
        fields.target_type,
        fields.target_id,
        fields.model_name,
        jsonParam(fields.before),
        jsonParam(fields.after),
        fields.reason,
        fields.request_id,
        prevHash,
        hash,
      ],
    );
    return { id: String(inserted[0].id), ...fields, prev_hash: prevHash, hash };
  }
}

/** A JSON null is stored as SQL NULL (it reads back as null either way). */
function jsonParam(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

function hashedFields(row: AuditEntryEntity): HashedFields {
  return {
    at: row.at.toISOString(),
    actor_key_id: row.actorKeyId,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    model_name: row.modelName,
    before: row.before ?? null,
    after: row.after ?? null,
    reason: row.reason,
    request_id: row.requestId,
  };
}

function toView(row: AuditEntryEntity): AuditEntryView {
  return { id: row.id, ...hashedFields(row), prev_hash: row.prevHash, hash: row.hash };
}
