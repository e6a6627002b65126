import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBody, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Roles } from 'src/common/auth/auth.decorators';
import { BatchPredictionRequestDto, BatchPredictionResponseDto, CustomerDataDto, PredictionResponseDto } from 'src/modules/serving/dto/prediction.dto';
import { PredictionService } from 'src/modules/serving/prediction.service';

/** Bodies are validated against the served model's signature (compiled once per model), not by DTO. */
@ApiTags('serving')
@ApiSecurity('api-key')
@Controller('predict')
@Roles('predict', 'operator')
export class PredictController {
  constructor(private readonly predictions: PredictionService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Churn probability, risk level and recommendation for one customer' })
  @ApiBody({ type: CustomerDataDto })
  @ApiOkResponse({ type: PredictionResponseDto })
  predict(@Body() body: unknown, @Req() req: FastifyRequest): Promise<PredictionResponseDto> {
    return this.predictions.predictOne(body, req.id);
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({ summary: 'Score up to BATCH_MAX_ROWS (1000) customers in one call' })
  @ApiBody({ type: BatchPredictionRequestDto })
  @ApiOkResponse({ type: BatchPredictionResponseDto })
  predictBatch(@Body() body: unknown, @Req() req: FastifyRequest): Promise<BatchPredictionResponseDto> {
    return this.predictions.predictBatch(body, req.id);
  }
}
