import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ModelLoaderService } from '../serving/model-loader.service';

/** Terminus indicator: up when a model version is loaded and serving. In memory, so it needs no timeout. */
@Injectable()
export class ModelHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly loader: ModelLoaderService,
  ) {}

  check() {
    const indicator = this.indicators.check('model');
    const serving = this.loader.status();
    return serving.model_loaded ? indicator.up({ ...serving }) : indicator.down({ ...serving });
  }
}
