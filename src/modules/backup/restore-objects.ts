import * as fs from 'node:fs';
import * as path from 'node:path';
import { completeBackupIds, readManifest } from './catalog';
import { fetchVerified } from './content-objects';
import { BackupManifest, manifestObjects, ObjectRef } from './manifest';
import { BackupStore } from './storage/backup-store';

/**
 * The backup to restore a database backup's artifacts from. Artifacts are only ever added, so the
 * first artifact backup taken at or after the database's consistent point holds every file it names;
 * without one, the newest earlier one (whose gaps the restore's cross-check then reports).
 */
export async function artifactsManifestFor(store: BackupStore, database: BackupManifest, signal?: AbortSignal): Promise<BackupManifest | undefined> {
  if (database.artifacts) return database;
  const ids = await completeBackupIds(store);
  let before: BackupManifest | undefined;
  for (const id of ids) {
    const m = await readManifest(store, id, signal);
    if (!m.artifacts) continue;
    if (m.created_at >= database.consistent_at) return m;
    before = m;
  }
  return before;
}

export interface FetchedObjects {
  dir: string;
  fileOf(ref: ObjectRef): string;
}

/**
 * Downloads every object the manifests name into `dir` and checks each against its sha256 and size,
 * before anything is restored: a changed byte or a missing object stops here, naming the object.
 */
export async function fetchAndVerifyObjects(
  store: BackupStore,
  manifests: readonly BackupManifest[],
  dir: string,
  signal?: AbortSignal,
  progress?: (done: number, total: number) => Promise<void>,
): Promise<FetchedObjects> {
  await fs.promises.mkdir(dir, { recursive: true });
  const seen = new Map<string, { ref: ObjectRef; what: string }>();
  for (const m of manifests) for (const o of manifestObjects(m)) if (!seen.has(o.ref.sha256)) seen.set(o.ref.sha256, o);
  let done = 0;
  for (const { ref, what } of seen.values()) {
    await fetchVerified(store, ref, path.join(dir, ref.sha256), what, signal);
    if (++done % 25 === 0 || done === seen.size) await progress?.(done, seen.size);
  }
  return { dir, fileOf: (ref) => path.join(dir, ref.sha256) };
}
