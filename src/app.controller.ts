import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from './common/auth/auth.decorators';
import { APP_CONFIG } from './config/config';
import { AppConfig } from './config/config.schema';
import { ModelLoaderService } from './modules/serving/model-loader.service';

@ApiTags('service')
@Public()
@Controller()
export class AppController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly loader: ModelLoaderService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Service information' })
  info() {
    const model = this.loader.model;
    return {
      service: 'churn-control-plane',
      description: 'Trains, registers, governs, serves and monitors customer-churn models.',
      version: this.config.serviceVersion,
      model: { name: this.loader.modelName, version: model?.version ?? null, loaded: model !== null },
      endpoints: {
        predict: 'POST /predict',
        batch: 'POST /predict/batch',
        models: 'GET /api/v1/models',
        health: 'GET /health',
        metrics: 'GET /metrics',
        docs: this.config.SWAGGER_ENABLED ? 'GET /docs' : null,
        openapi: this.config.SWAGGER_ENABLED ? 'GET /openapi.json' : null,
      },
    };
  }
}
