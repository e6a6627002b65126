import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { RegistryModule } from '../registry/registry.module';
import { TrainingLogEntity } from './entities/training-log.entity';
import { TrainingRunEntity } from './entities/training-run.entity';
import { KubernetesJobExecutor } from './executors/kubernetes-job.executor';
import { LocalProcessExecutor } from './executors/local-process.executor';
import { TRAINING_EXECUTOR } from './executors/training-executor';
import { TrainingController } from './training.controller';
import { TrainingSchedule } from './training.schedule';
import { TrainingService } from './training.service';

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
