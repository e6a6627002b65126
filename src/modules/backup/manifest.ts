import { createHash } from 'node:crypto';
import type { BackupKind } from './entities/backup.entity';

/** Bumped when a manifest changes shape in a way an older restore cannot read. */
export const MANIFEST_FORMAT = 1;

/** An object in the content-addressed store: `objects/sha256/<first 2>/<sha256>`. */
export interface ObjectRef {
  sha256: string;
  size: number;
}

/** A table of our database as it was in the dump's snapshot: rows and an order-independent checksum of their text. */
export interface TableFingerprint {
  table: string;
  rows: number;
  checksum: string;
}

export interface ManifestArtifact extends ObjectRef {
  /** Path under MLflow's artifact root, '/'-separated. */
  path: string;
  /** The file's mtime when it was hashed (lets the next backup skip re-reading an unchanged file). */
  mtime_ms?: number;
}

/**
 * What one backup holds, written last (after every object it names), and checksummed: the manifest's
 * sha256 is stored beside it as `manifests/<id>.sha256`. Everything a restore and a drill check is here.
 */
export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  kind: BackupKind;
  created_at: string;
  /** The instant the database part is consistent at (the dump's snapshot); the artifacts are taken after it. */
  consistent_at: string;
  service_version: string;
  tools: Record<string, string>;
  database?: {
    dump: ObjectRef;
    format: 'pg_dump -Fc';
    migration_head: string | null;
    tables: TableFingerprint[];
  };
  mlflow_store?: {
    kind: 'sqlite' | 'postgres';
    object: ObjectRef;
  };
  artifacts?: {
    files: ManifestArtifact[];
    bytes: number;
  };
  registry?: { name: string; version: string; stage: string; model_sha256: string | null; source: string | null }[];
  audit?: { seq: number; hash: string } | null;
  /** pgBackRest: the newest base backup and the WAL archive range when the backup was taken (when archiving is on). */
  wal?: { stanza: string; backup_label: string | null; archive_min: string | null; archive_max: string | null } | null;
}

export const MANIFEST_PREFIX = 'manifests/';
export const OBJECT_PREFIX = 'objects/sha256/';

export function manifestKey(id: string): string {
  return `${MANIFEST_PREFIX}${id}.json`;
}

export function manifestChecksumKey(id: string): string {
  return `${MANIFEST_PREFIX}${id}.sha256`;
}

export function objectKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`invalid sha256 '${sha256}'`);
  return `${OBJECT_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

/** A backup id that sorts by start time: the start to the millisecond, then random hex (`20261204T020000.123Z-3f9a1c`). */
export function newBackupId(now: Date, random: string): string {
  return `${now.toISOString().replace(/[-:]/g, '')}-${random}`;
}

export const BACKUP_ID_PATTERN = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$/;

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function serializeManifest(manifest: BackupManifest): { body: Buffer; sha256: string } {
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  return { body, sha256: sha256Hex(body) };
}

/** A manifest whose bytes do not match their checksum file, or that cannot be read. */
export class ManifestInvalidError extends Error {
  constructor(
    readonly backupId: string,
    reason: string,
  ) {
    super(`manifest of backup ${backupId} is not usable: ${reason}`);
    this.name = 'ManifestInvalidError';
  }
}

/** Parses a manifest after checking its bytes against the checksum stored beside it. */
export function parseManifest(id: string, body: Buffer, checksumFile: Buffer): BackupManifest {
  const expected = checksumFile.toString('utf8').trim().split(/\s+/)[0];
  const actual = sha256Hex(body);
  if (expected !== actual) throw new ManifestInvalidError(id, `its sha256 is ${actual}, the checksum file says ${expected} (changed or partly written)`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(body.toString('utf8')) as BackupManifest;
  } catch (err) {
    throw new ManifestInvalidError(id, `not JSON (${(err as Error).message})`);
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new ManifestInvalidError(id, `format ${String(manifest.format)} (this release reads ${MANIFEST_FORMAT})`);
  if (manifest.id !== id) throw new ManifestInvalidError(id, `it names backup ${manifest.id}`);
  return manifest;
}

/** Every object a manifest names, deduplicated, with what it is for (for messages). */
export function manifestObjects(m: BackupManifest): { ref: ObjectRef; what: string }[] {
  const out = new Map<string, { ref: ObjectRef; what: string }>();
  const add = (ref: ObjectRef, what: string) => {
    if (!out.has(ref.sha256)) out.set(ref.sha256, { ref, what });
  };
  if (m.database) add(m.database.dump, 'the control-plane database dump');
  if (m.mlflow_store) add(m.mlflow_store.object, `MLflow's backend store (${m.mlflow_store.kind})`);
  for (const f of m.artifacts?.files ?? []) add(f, `artifact ${f.path}`);
  return [...out.values()];
}
