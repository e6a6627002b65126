import { Global, Module } from '@nestjs/common';
import { MlflowClient } from 'src/mlflow/mlflow.client';
import { mlflowMetrics } from 'src/mlflow/mlflow.metrics';

@Global()
@Module({ providers: [MlflowClient, ...mlflowMetrics], exports: [MlflowClient] })
export class MlflowModule {}
