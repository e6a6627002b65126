import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/auth/auth.decorators';
import { HealthReportDto } from './dto/health-report.dto';
import { HealthReport, HealthService } from './health.service';
import { ModelHealthIndicator } from './model.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly checks: HealthCheckService,
    private readonly model: ModelHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Status, model_loaded, model version, uptime and one check per dependency',
    description:
      '200 `healthy`; 200 `degraded` when the service scores but something is wrong (Postgres or MLflow unreachable, prediction log stalled, spill directory not writable, a refused version), with one sentence per cause in `reasons`; 503 `unhealthy` only when it cannot score (no model loaded).',
  })
  @ApiOkResponse({ type: HealthReportDto, description: '`healthy`, or `degraded` with its `reasons`: the service can score' })
  @ApiServiceUnavailableResponse({ type: HealthReportDto, description: '`unhealthy`: no model is loaded, so it cannot score' })
  async report(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.report();
    reply.status(report.status === 'unhealthy' ? 503 : 200);
    return report;
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: follows the ability to score, i.e. a model is loaded (503 otherwise); Postgres and MLflow outages do not make it unready',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.checks.check([() => this.model.check()]);
    } catch (err) {
      // Terminus reports "not ready" as an exception carrying the per-check details; answer them as is.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503);
      return err.getResponse();
    }
  }
}
