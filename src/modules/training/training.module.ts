import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { TrainingLogEntity } from 'src/modules/training/entities/training-log.entity';
import { TrainingRunEntity } from 'src/modules/training/entities/training-run.entity';
import { KubernetesJobExecutor } from 'src/modules/training/executors/kubernetes-job.executor';
import { LocalProcessExecutor } from 'src/modules/training/executors/local-process.executor';
import { TRAINING_EXECUTOR } from 'src/modules/training/executors/training-executor';
import { TrainingController } from 'src/modules/training/training.controller';
import { TrainingSchedule } from 'src/modules/training/training.schedule';
import { TrainingService } from 'src/modules/training/training.service';

@Module({
  imports: [TypeOrmModule.forFeature([TrainingRunEntity, TrainingLogEntity]), RegistryModule],
  controllers: [TrainingController],
  providers: [
    LocalProcessExecutor,
    KubernetesJobExecutor,
    {
      provide: TRAINING_EXECUTOR,
      inject: [APP_CONFIG, LocalProcessExecutor, KubernetesJobExecutor],
      useFactory: (config: AppConfig, local: LocalProcessExecutor, k8s: KubernetesJobExecutor) => (config.TRAINING_EXECUTOR === 'kubernetes' ? k8s : local),
    },
    TrainingService,
    TrainingSchedule,
  ],
  exports: [TrainingService],
})
export class TrainingModule {}
