import { BACKUP_ID_PATTERN, BackupManifest, MANIFEST_PREFIX, manifestChecksumKey, manifestKey, parseManifest, serializeManifest } from './manifest';
import { BackupStore } from './storage/backup-store';

/**
 * The manifests of one store. A backup is complete in a store when its manifest and the checksum file
 * beside it are both there; the checksum file is written last, so a backup cut short is never listed.
 */
export async function completeBackupIds(store: BackupStore): Promise<string[]> {
  const keys = await store.list(MANIFEST_PREFIX);
  const names = new Set(keys.map((k) => k.key.slice(MANIFEST_PREFIX.length)));
  return [...names]
    .filter((n) => n.endsWith('.sha256'))
    .map((n) => n.slice(0, -'.sha256'.length))
    .filter((id) => BACKUP_ID_PATTERN.test(id) && names.has(`${id}.json`))
    .sort();
}

export async function readManifest(store: BackupStore, id: string, signal?: AbortSignal): Promise<BackupManifest> {
  const [body, checksum] = await Promise.all([store.getBytes(manifestKey(id), signal), store.getBytes(manifestChecksumKey(id), signal)]);
  return parseManifest(id, body, checksum);
}

/** Writes the manifest, then its checksum file (the commit point), to every store. */
export async function writeManifest(stores: readonly BackupStore[], manifest: BackupManifest, signal?: AbortSignal): Promise<string> {
  const { body, sha256 } = serializeManifest(manifest);
  for (const store of stores) {
    await store.putBytes(manifestKey(manifest.id), body, signal);
    await store.putBytes(manifestChecksumKey(manifest.id), Buffer.from(`${sha256}  ${manifest.id}.json\n`), signal);
  }
  return sha256;
}

/** The newest complete backup in a store that matches, read and verified; undefined when none. */
export async function newestManifest(
  store: BackupStore,
  accept: (m: BackupManifest) => boolean = () => true,
  signal?: AbortSignal,
): Promise<BackupManifest | undefined> {
  const ids = await completeBackupIds(store);
  for (const id of ids.reverse()) {
    const m = await readManifest(store, id, signal);
    if (accept(m)) return m;
  }
  return undefined;
}

/** The instant a backup id was started at (ids begin with it). */
export function backupIdTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(id);
  if (!m) throw new Error(`'${id}' is not a backup id`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]));
}

/** Written by a restore: the chain it restored ends at `audit`, which is the head later verifications check against. */
export interface RestoreMarker {
  backup_id: string;
  to_time: string | null;
  restored_at: string;
  audit: { seq: number; hash: string } | null;
}

const RESTORE_PREFIX = 'restores/';

export async function writeRestoreMarker(stores: readonly BackupStore[], marker: RestoreMarker): Promise<void> {
  const key = `${RESTORE_PREFIX}${marker.restored_at.replace(/[-:.]/g, '')}.json`;
  for (const store of stores) await store.putBytes(key, Buffer.from(`${JSON.stringify(marker, null, 2)}\n`));
}

/** The newest restore marker in a store, or undefined. */
export async function newestRestoreMarker(store: BackupStore): Promise<RestoreMarker | undefined> {
  const keys = (await store.list(RESTORE_PREFIX)).filter((o) => o.key.endsWith('.json'));
  const last = keys.pop();
  return last ? (JSON.parse((await store.getBytes(last.key)).toString('utf8')) as RestoreMarker) : undefined;
}

/**
 * The audit head kept outside the database: the newest backup's, or the head a later restore left
 * (a restore to an older point legitimately ends the chain before the newest backup's head).
 */
export async function anchoredAuditHead(store: BackupStore): Promise<{ seq: number; hash: string; source: string } | null> {
  const [manifest, marker] = await Promise.all([newestManifest(store, (m) => m.audit !== undefined), newestRestoreMarker(store)]);
  if (marker && (!manifest || marker.restored_at > manifest.created_at)) {
    return marker.audit ? { ...marker.audit, source: `the restore of ${marker.backup_id} at ${marker.restored_at}` } : null;
  }
  return manifest?.audit ? { ...manifest.audit, source: `backup ${manifest.id}` } : null;
}
