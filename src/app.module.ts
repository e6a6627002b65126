import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppController } from './app.controller';
import { AuthModule } from './common/auth/auth.module';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { RequestValidationPipe } from './common/errors/request-validation.pipe';
import { loggingModule } from './common/logging/logging.module';
import { APP_CONFIG } from './config/config';
import { AppConfig } from './config/config.schema';
import { dataSourceOptions } from './database/data-source';
import { MlflowModule } from './mlflow/mlflow.module';
import { ApiKeysModule } from './modules/api-keys/api-keys.module';
import { ConsoleModule } from './modules/console/console.module';
import { SessionsModule } from './modules/sessions/sessions.module';
import { SessionsService } from './modules/sessions/sessions.service';
import { ApiKeysService } from './modules/api-keys/api-keys.service';
import { AuditModule } from './modules/audit/audit.module';
import { BackupModule } from './modules/backup/backup.module';
import { BackupStorageModule } from './modules/backup/storage/backup-storage.module';
import { BatchScoringModule } from './modules/batch-scoring/batch-scoring.module';
import { DriftModule } from './modules/drift/drift.module';
import { ErasureModule } from './modules/erasure/erasure.module';
import { EventsModule } from './modules/events/events.module';
import { GovernanceModule } from './modules/governance/governance.module';
import { HealthModule } from './modules/health/health.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { NotificationsModule } from './modules/notifications/notifications.module';
import { OutcomesModule } from './modules/outcomes/outcomes.module';
import { AlertingModule } from './modules/alerting/alerting.module';
import { RegistryModule } from './modules/registry/registry.module';
import { JobsModule } from './modules/jobs/jobs.module';
import { ServingModule } from './modules/serving/serving.module';
import { TrainingModule } from './modules/training/training.module';

@Module({})
export class AppModule {
  /** `databaseUrl` is resolved before Nest starts (embedded Postgres or DATABASE_URL) and already migrated. */
  static register(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        { module: ConfigHolder, global: true, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] },
        loggingModule(config),
        TypeOrmModule.forRoot({ ...dataSourceOptions(databaseUrl, config.DB_POOL_SIZE), autoLoadEntities: true }),
        MetricsModule,
        BackupStorageModule,
        MlflowModule,
        NotificationsModule,
        // API keys before the guard that uses them (and where the key routes have always been in the OpenAPI document).
        ApiKeysModule,
        AuthModule.forRoot({ imports: [ApiKeysModule], verifier: ApiKeysService }, { imports: [SessionsModule], resolver: SessionsService }),
        AuditModule,
        ConsoleModule,
        EventsModule,
        RegistryModule,
        JobsModule,
        ServingModule,
        TrainingModule,
        BatchScoringModule,
        DriftModule,
        OutcomesModule,
        ErasureModule,
        AlertingModule,
        GovernanceModule,
        BackupModule,
        HealthModule,
      ],
      controllers: [AppController],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useValue: new RequestValidationPipe() },
      ],
    };
  }
}

@Module({})
class ConfigHolder {}
