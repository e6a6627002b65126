import { AppConfig } from '../../../config/config.schema';
import { BackupStore } from './backup-store';
import { LocalDirStore } from './local-dir-store';

/** The configured destinations, local first: BACKUP_LOCAL_DIR always, S3 when BACKUP_S3_BUCKET is set. */
export function createBackupStores(config: AppConfig): BackupStore[] {
  const stores: BackupStore[] = [new LocalDirStore(config.backupLocalDir)];
  return stores;
}

/** Injection token of the BackupStore[] of createBackupStores. */
export const BACKUP_STORES = Symbol('BACKUP_STORES');
