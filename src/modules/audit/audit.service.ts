import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ValidationFailedError } from '../../common/errors/app-error';
import { AuditEntryEntity } from './audit-entry.entity';
import { AuditHead } from './audit-anchor';
import { GENESIS_HASH, HashedFields, HashScheme, KEYED_SCHEME, schemeHash, toJsonValue } from './audit-hash';
import { AUDIT_HMAC_KEY } from './audit-key';
import { AuditEntryList, AuditEntryView, AuditSegment, AuditVerification } from './dto/audit.responses';
import { AUDIT_LIST_DEFAULT_LIMIT, AUDIT_LIST_MAX_LIMIT } from './dto/list-audit.query';

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

/** A head kept outside the database: entry number `seq` (1 = the first entry) must have this hash. */
/** The newest entry and its position; run it in a snapshot (a backup's) to get the head of that snapshot. */
export const AUDIT_HEAD_SQL = 'SELECT (SELECT count(*) FROM audit_log) AS seq, id, hash FROM audit_log ORDER BY id DESC LIMIT 1';

export interface ExpectedHead {
  seq: number;
  hash: string;
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
 * The audit trail: append-only (enforced by database triggers) and chained with an HMAC whose key the
 * database does not hold, so that a row changed behind the service's back (a superuser disabling the
 * triggers) is detected by verify() even when the forger recomputes the chain with the public formula.
 * Removing the newest entries leaves a shorter chain that is still whole: that is detected against a
 * head anchored outside the database (see audit-anchor.ts and verify's `expected` heads).
 */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(AUDIT_HMAC_KEY) private readonly key: Buffer,
  ) {}

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
    const rows = await qb
      .orderBy('e.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const page = rows.slice(0, limit);
    return { entries: page.map(toView), next_before_id: rows.length > limit ? page[page.length - 1].id : null };
  }

  /** The newest entry and its position in the chain (1 for the first entry); null for an empty log. */
  async head(): Promise<AuditHead | null> {
    const rows: { seq: string; id: string; hash: string }[] = await this.db.query(AUDIT_HEAD_SQL);
    return rows.length === 0 ? null : { seq: Number(rows[0].seq), id: String(rows[0].id), hash: rows[0].hash };
  }

  /**
   * Walks the whole chain in id order, a page at a time, recomputing every hash under the entry's scheme
   * and checking that every prev_hash is the hash of the entry before it. The public sha256 scheme is
   * accepted only for entries written before the keyed chain began (ids up to audit_chain_legacy.last_id,
   * and never after a keyed entry). Each `expected` head (position + hash, kept outside the database)
   * must be in the chain: a shorter chain was truncated, a different hash there was rewritten. Stops at
   * the first broken entry.
   */
  async verify(expected: ExpectedHead[] = []): Promise<AuditVerification> {
    const repo = this.db.getRepository(AuditEntryEntity);
    const legacyLastId = await this.legacyLastId();
    const anchors = [...expected].sort((a, b) => a.seq - b.seq);
    const segments: AuditSegment[] = [];
    let checked = 0;
    let keyedSeen = false;
    let previous: { id: string; hash: string } | null = null;
    const result = (first_broken: AuditVerification['first_broken']): AuditVerification => ({
      valid: first_broken === null,
      checked,
      first_broken,
      head: previous && first_broken === null ? { seq: checked, id: previous.id, hash: previous.hash } : null,
      segments,
    });
    for (;;) {
      const qb = repo.createQueryBuilder('e').orderBy('e.id', 'ASC').limit(VERIFY_PAGE_SIZE);
      if (previous) qb.where('e.id > :after', { after: previous.id });
      const rows = await qb.getMany();
      for (const row of rows) {
        checked++;
        const broken = (reason: string) => result({ id: row.id, seq: checked, reason });
        const expectedPrev = previous?.hash ?? GENESIS_HASH;
        if (row.prevHash !== expectedPrev) {
          return broken(
            previous
              ? `prev_hash does not link to entry ${previous.id}`
              : 'prev_hash of the first entry is not the genesis hash (earlier entries were removed)',
          );
        }
        if (row.hashScheme === 'sha256') {
          if (keyedSeen) return broken('uses the public sha256 scheme after keyed entries: it was rewritten without the key');
          if (BigInt(row.id) > legacyLastId) {
            return broken(
              `uses the public sha256 scheme, which only entries written before the keyed chain (ids up to ${legacyLastId}) may use: it was rewritten without the key`,
            );
          }
        } else {
          keyedSeen = true;
        }
        if (schemeHash(row.hashScheme, this.key, row.prevHash, hashedFields(row)) !== row.hash) {
          return broken(
            row.hashScheme === 'sha256'
              ? 'hash does not match the entry (the row was altered)'
              : 'hash does not match the entry (the row was altered, or AUDIT_HMAC_KEY is not the key it was written with)',
          );
        }
        const anchor = anchors.find((a) => a.seq === checked);
        if (anchor && anchor.hash !== row.hash) {
          return broken(`is not the entry anchored at position ${anchor.seq} (hash ${anchor.hash}): the chain was rewritten from here or earlier`);
        }
        const last = segments[segments.length - 1];
        if (last?.scheme === row.hashScheme) {
          last.last_id = row.id;
          last.entries++;
        } else {
          segments.push({ scheme: row.hashScheme, first_id: row.id, last_id: row.id, entries: 1 });
        }
        previous = { id: row.id, hash: row.hash };
      }
      if (rows.length < VERIFY_PAGE_SIZE) break;
    }
    const beyond = anchors.find((a) => a.seq > checked);
    if (beyond) {
      return result({
        id: null,
        seq: checked + 1,
        reason:
          `the chain ends at entry ${checked}${previous ? ` (id ${previous.id})` : ''} but an anchored head names entry ${beyond.seq} (hash ${beyond.hash}): ` +
          `entries ${checked + 1} to ${beyond.seq} at least were removed (truncated)`,
      });
    }
    return result(null);
  }

  private async legacyLastId(): Promise<bigint> {
    const rows: { last_id: string }[] = await this.db.query('SELECT last_id FROM audit_chain_legacy');
    // No row: someone removed it behind the triggers; then no entry may use the public formula.
    return rows.length === 0 ? 0n : BigInt(rows[0].last_id);
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
    const scheme: HashScheme = KEYED_SCHEME;
    const hash = schemeHash(scheme, this.key, prevHash, fields);
    const inserted: { id: string }[] = await tx.query(
      `INSERT INTO audit_log (at, actor_key_id, action, target_type, target_id, model_name, before, after, reason, request_id, prev_hash, hash, hash_scheme)
       VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13)
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
        scheme,
      ],
    );
    return { id: String(inserted[0].id), ...fields, prev_hash: prevHash, hash, hash_scheme: scheme };
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
  return { id: row.id, ...hashedFields(row), prev_hash: row.prevHash, hash: row.hash, hash_scheme: row.hashScheme };
}
