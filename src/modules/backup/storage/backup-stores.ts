import { AppConfig } from '../../../config/config.schema';
import { BackupStore } from './backup-store';
import { LocalDirStore } from './local-dir-store';
import { S3Store } from './s3-store';

/** The configured destinations, local first: BACKUP_LOCAL_DIR always, S3 when BACKUP_S3_BUCKET is set. */
export function createBackupStores(config: AppConfig): BackupStore[] {
  const stores: BackupStore[] = [new LocalDirStore(config.backupLocalDir)];
  if (config.BACKUP_S3_BUCKET) stores.push(S3Store.fromConfig(config));
  return stores;
}

/** Injection token of the BackupStore[] of createBackupStores. */
export const BACKUP_STORES = Symbol('BACKUP_STORES');
