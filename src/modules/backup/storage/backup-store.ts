/**
 * Where backups go: a local directory or an S3 bucket, behind one interface. Keys are relative,
 * '/'-separated paths (`objects/sha256/ab/abcd…`, `manifests/<id>.json`); each store maps them under
 * its own root or prefix. Every write is all-or-nothing: a reader never sees half an object.
 */
export interface BackupStore {
  /** `local` or `s3`: the destination label of metrics and manifests. */
  readonly kind: BackupDestination;
  /** Where the objects are, for messages: `/var/backups/churn` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Stores a file under `key`. `sha256` (hex) is the content hash the caller computed: the store has
   * it checked on arrival (S3 checksum) and fails with BackupStoreError when the bytes differ.
   */
  putFile(key: string, file: string, expected: { sha256: string; size: number }, signal?: AbortSignal): Promise<void>;
  putBytes(key: string, body: Buffer, signal?: AbortSignal): Promise<void>;
  /** Size of the object, or undefined when there is none. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Downloads into `file` (written to a temporary name, then renamed). Fails with BackupObjectMissingError when absent. */
  getFile(key: string, file: string, signal?: AbortSignal): Promise<void>;
  /** Fails with BackupObjectMissingError when absent. */
  getBytes(key: string, signal?: AbortSignal): Promise<Buffer>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes the objects; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /** Releases what the store holds open (an S3 client's keep-alive sockets); not used afterwards. */
  destroy?(): void;
}

export type BackupDestination = 'local' | 's3';

export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}

/** The store could not be used (unreachable, refused, out of space, a checksum mismatch on arrival). */
export class BackupStoreError extends Error {
  constructor(
    readonly store: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${store}: ${message}`, options);
    this.name = 'BackupStoreError';
  }
}

/** An object a backup needs is not in the store. */
export class BackupObjectMissingError extends Error {
  constructor(
    readonly store: string,
    readonly key: string,
  ) {
    super(`${store}: object ${key} is missing`);
    this.name = 'BackupObjectMissingError';
  }
}

/** Rejects keys that could leave the store's root: absolute, empty segments, `.` or `..`. */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024 || parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\\') || key.includes('\0')) {
    throw new Error(`invalid backup object key '${key}'`);
  }
}
