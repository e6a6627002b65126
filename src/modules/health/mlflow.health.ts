import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { timedHealthCheck } from './health-check-timeout.util';

/** Terminus indicator: up when the MLflow tracking server answers within the health-check timeout. */
@Injectable()
export class MlflowHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly mlflow: MlflowClient,
  ) {}

  check() {
    return timedHealthCheck(this.indicators, 'mlflow', () => this.mlflow.ping());
  }
}
