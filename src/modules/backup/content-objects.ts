import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { ObjectRef, objectKey } from './manifest';
import { BackupStore } from './storage/backup-store';

export async function sha256File(file: string, signal?: AbortSignal): Promise<ObjectRef> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { signal })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Puts a file into every store under its content address, unless the store already has that object
 * (same key, same size): backups are incremental by construction. Returns the bytes actually sent.
 */
export async function storeObject(stores: readonly BackupStore[], file: string, ref: ObjectRef, signal?: AbortSignal): Promise<number> {
  let sent = 0;
  const key = objectKey(ref.sha256);
  for (const store of stores) {
    const existing = await store.stat(key);
    if (existing?.size === ref.size) continue;
    await store.putFile(key, file, ref, signal);
    sent += ref.size;
  }
  return sent;
}

/** Downloads an object into `file` and checks it against its content address; throws naming `what` otherwise. */
export async function fetchVerified(store: BackupStore, ref: ObjectRef, file: string, what: string, signal?: AbortSignal): Promise<void> {
  await store.getFile(objectKey(ref.sha256), file, signal);
  const got = await sha256File(file, signal);
  if (got.sha256 !== ref.sha256 || got.size !== ref.size) {
    throw new BackupObjectCorruptError(
      what,
      objectKey(ref.sha256),
      store.location,
      `sha256 ${got.sha256} (${got.size} bytes), expected ${ref.sha256} (${ref.size} bytes)`,
    );
  }
}

/** A backup object whose bytes are not the ones the manifest recorded. */
export class BackupObjectCorruptError extends Error {
  constructor(
    readonly what: string,
    readonly key: string,
    readonly store: string,
    detail: string,
  ) {
    super(`${what} (${key} in ${store}) does not match the manifest: ${detail}`);
    this.name = 'BackupObjectCorruptError';
  }
}
