import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelVersionEntity } from './entities/model-version.entity';
import { StageTransitionEntity } from './entities/stage-transition.entity';
import { MlflowMirror } from './mlflow-mirror';
import { RegistryController } from './registry.controller';
import { RegistryService } from './registry.service';

@Module({
  imports: [TypeOrmModule.forFeature([ModelVersionEntity, StageTransitionEntity])],
  controllers: [RegistryController],
  providers: [RegistryService, MlflowMirror],
  exports: [RegistryService],
})
export class RegistryModule {}
