import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ModelLoaderService } from '../serving/model-loader.service';

/** Terminus indicator: up when a model version is loaded and serving. */
@Injectable()
export class ModelHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly loader: ModelLoaderService,
  ) {}

  check(key = 'model') {
    const indicator = this.indicators.check(key);
    const s = this.loader.status();
    const details = { model_name: s.model_name, version: s.model_version, desired_version: s.desired_version };
    return s.model_loaded ? indicator.up(details) : indicator.down({ ...details, last_error: s.last_error?.message ?? 'no model loaded yet' });
  }
}
