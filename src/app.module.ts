import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppController } from 'src/app.controller';
import { AuthModule } from 'src/common/auth/auth.module';
import { ProblemDetailsFilter } from 'src/common/errors/problem-details.filter';
import { RequestValidationPipe } from 'src/common/errors/request-validation.pipe';
import { loggingModule } from 'src/common/logging/logging.module';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { dataSourceOptions } from 'src/database/data-source';
import { MlflowModule } from 'src/mlflow/mlflow.module';
import { AuditModule } from 'src/modules/audit/audit.module';
import { BatchScoringModule } from 'src/modules/batch-scoring/batch-scoring.module';
import { DriftModule } from 'src/modules/drift/drift.module';
import { GovernanceModule } from 'src/modules/governance/governance.module';
import { HealthModule } from 'src/modules/health/health.module';
import { MetricsModule } from 'src/modules/metrics/metrics.module';
import { NotificationsModule } from 'src/modules/notifications/notifications.module';
import { OutcomesModule } from 'src/modules/outcomes/outcomes.module';
import { AlertingModule } from 'src/modules/alerting/alerting.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { SchedulerModule } from 'src/modules/scheduler/scheduler.module';
import { ServingModule } from 'src/modules/serving/serving.module';
import { TrainingModule } from 'src/modules/training/training.module';

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
        EventEmitterModule.forRoot(),
        MetricsModule,
        MlflowModule,
        NotificationsModule,
        AuthModule,
        AuditModule,
        RegistryModule,
        SchedulerModule,
        ServingModule,
        TrainingModule,
        BatchScoringModule,
        DriftModule,
        OutcomesModule,
        AlertingModule,
        GovernanceModule,
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
