import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from 'src/common/auth/auth.decorators';
import { HealthReport, HealthService } from 'src/modules/health/health.service';
import { ModelHealthIndicator } from 'src/modules/health/model.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly checks: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly model: ModelHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Status, model_loaded, model version, uptime and one check per dependency; 503 when unhealthy' })
  async report(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.report();
    reply.status(report.status === 'unhealthy' ? 503 : 200);
    return report;
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database reachable and a model loaded (503 otherwise)' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.checks.check([() => this.database.pingCheck('database', { timeout: 2000 }), () => this.model.check()]);
    } catch (err) {
      // Terminus reports "not ready" as an exception carrying the per-check details; answer them as is.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503);
      return err.getResponse();
    }
  }
}
