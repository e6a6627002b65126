import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { BackupStore } from './backup-store';
import { BACKUP_STORES, createBackupStores } from './backup-stores';

/** The backup destinations (BACKUP_STORES), for every module that writes to the backup store. */
@Global()
@Module({
  providers: [{ provide: BACKUP_STORES, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createBackupStores(config) }],
  exports: [BACKUP_STORES],
})
export class BackupStorageModule implements OnApplicationShutdown {
  constructor(@Inject(BACKUP_STORES) private readonly stores: BackupStore[]) {}

  onApplicationShutdown(): void {
    for (const store of this.stores) store.destroy?.();
  }
}
