import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { readManifest } from './catalog';
import { manifestChecksumKey, manifestObjects } from './manifest';
import { artifactsManifestFor, fetchAndVerifyObjects } from './restore-objects';
import { BACKUP_STORES } from './storage/backup-stores';
import { BackupStore } from './storage/backup-store';

export interface RestoreCheckResult {
  backup_id: string;
  store: string;
  objects: number;
  bytes: number;
  artifacts_from: string | null;
}

/** A dry-run restore: every object of a backup downloaded from each destination and checked, nothing restored. */
@Injectable()
export class RestoreCheckService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BACKUP_STORES) private readonly stores: BackupStore[],
  ) {}

  async check(backupId: string, signal?: AbortSignal, progress?: (p: Record<string, unknown>) => Promise<void>): Promise<RestoreCheckResult[]> {
    const results: RestoreCheckResult[] = [];
    for (const store of this.stores) {
      if (!(await store.stat(manifestChecksumKey(backupId)))) throw new Error(`backup ${backupId} is not complete in ${store.location}`);
      const manifest = await readManifest(store, backupId, signal);
      const artifacts = await artifactsManifestFor(store, manifest, signal);
      const manifests = artifacts && artifacts !== manifest ? [manifest, artifacts] : [manifest];
      const dir = path.join(this.config.DATA_DIR, 'restore-check', randomUUID());
      try {
        await fetchAndVerifyObjects(store, manifests, dir, signal, (done, total) => progress?.({ store: store.location, done, total }) ?? Promise.resolve());
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
      const objects = manifests.flatMap(manifestObjects);
      results.push({
        backup_id: backupId,
        store: store.location,
        objects: objects.length,
        bytes: objects.reduce((s, o) => s + o.ref.size, 0),
        artifacts_from: artifacts?.id ?? null,
      });
    }
    return results;
  }
}
