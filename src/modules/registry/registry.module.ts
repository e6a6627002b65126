import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelVersionEntity } from 'src/modules/registry/entities/model-version.entity';
import { StageTransitionEntity } from 'src/modules/registry/entities/stage-transition.entity';
import { MlflowMirror } from 'src/modules/registry/mlflow-mirror';
import { RegistryController } from 'src/modules/registry/registry.controller';
import { RegistryService } from 'src/modules/registry/registry.service';

@Module({
  imports: [TypeOrmModule.forFeature([ModelVersionEntity, StageTransitionEntity])],
  controllers: [RegistryController],
  providers: [RegistryService, MlflowMirror],
  exports: [RegistryService],
})
export class RegistryModule {}
