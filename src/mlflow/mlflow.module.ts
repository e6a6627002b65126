import { Global, Module } from '@nestjs/common';
import { MlflowClient } from './mlflow.client';
import { mlflowMetrics } from './mlflow.metrics';

@Global()
@Module({ providers: [MlflowClient, ...mlflowMetrics], exports: [MlflowClient] })
export class MlflowModule {}
