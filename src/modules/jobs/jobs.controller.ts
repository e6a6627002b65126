import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { ConflictError, NotFoundError } from '../../common/errors/app-error';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { JobIdParams, JobItemView, JobPage, ListJobsQuery, toJobItemView } from './dto/jobs.dto';
import { JobName } from './job-names';
import { JobsService } from './jobs.service';

/**
 * Jobs whose work belongs to a record of another module: cancelling the job alone would leave that
 * record active forever, so the operator is sent to the record's own route.
 */
const CANCELLED_ELSEWHERE: Partial<Record<string, (key: string) => string>> = {
  [JobName.TrainingRun]: (key) => `cancel the training run instead: POST /api/v1/training/runs/${key}/cancel`,
  [JobName.BatchScoringRun]: () => 'a batch-scoring run cannot be cancelled; it ends on its own',
  // Cancelled, the delivery would stay pending and could never be retried: it ends delivered or failed, and a failed one can be retried.
  [JobName.WebhookDelivery]: (key) => `a webhook delivery ends delivered or failed (GET /api/v1/webhooks/deliveries/${key}); it cannot be cancelled`,
};

@ApiTags('jobs')
@ApiSecurity('api-key')
@ModelScoped(ModelFrom.allModels()) // jobs carry the work of every model
@Controller('api/v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @Roles('operator', 'approver')
  @ApiOkResponse({ type: JobPage, description: 'Background jobs (cron slots, runs, webhook deliveries, ...), newest first' })
  async list(@Query() query: ListJobsQuery): Promise<JobPage> {
    const rows = await this.jobs.list({ name: query.name, state: query.state, beforeId: query.before_id, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    return { jobs: page.map(toJobItemView), next_before_id: rows.length > query.limit ? page[page.length - 1].id : null };
  }

  @Get(':id')
  @Roles('operator', 'approver')
  @ApiOkResponse({ type: JobItemView })
  async get(@Param() params: JobIdParams): Promise<JobItemView> {
    return toJobItemView(await this.find(params.id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({
    type: JobItemView,
    description: 'A queued job is cancelled at once; a running one has cancel_requested set and stops at its next heartbeat',
  })
  @ApiProblem(409, 'The job has already finished, or its work is a run or a webhook delivery, which ends through its own route')
  async cancel(@Param() params: JobIdParams): Promise<JobItemView> {
    const job = await this.find(params.id);
    const elsewhere = CANCELLED_ELSEWHERE[job.name];
    if (elsewhere && ['queued', 'running'].includes(job.state)) throw new ConflictError(`Job ${job.id} is a ${job.name} job: ${elsewhere(job.key)}.`);
    if (!(await this.jobs.cancel(job.id))) {
      const now = await this.find(job.id);
      throw new ConflictError(`Job ${job.id} has already finished (${now.state}); only queued or running jobs can be cancelled.`);
    }
    return toJobItemView(await this.find(job.id));
  }

  private async find(id: string) {
    const job = await this.jobs.get(id);
    if (!job) throw new NotFoundError(`Job ${id} does not exist; list jobs with GET /api/v1/jobs.`);
    return job;
  }
}
