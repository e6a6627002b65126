import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { JOB_STATES, JobState } from '../entities/job.entity';
import { JobName } from '../job-names';
import { JobView } from '../jobs.service';
import { PageLimit } from '../../../common/http/page-limit';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export const JOB_NAMES = Object.values(JobName);

/** A job id: a bigint, kept to 18 digits so that every accepted value fits Postgres' bigint. */
const JOB_ID = /^[0-9]{1,18}$/;

/** Query parameters of GET /api/v1/jobs. */
export class ListJobsQuery {
  @ApiPropertyOptional({ enum: JOB_NAMES, description: 'Only jobs of this kind' })
  @IsOptional()
  @IsIn(JOB_NAMES, { message: `name must be one of: ${JOB_NAMES.join(', ')}` })
  name?: JobName;

  @ApiPropertyOptional({ enum: JOB_STATES })
  @IsOptional()
  @IsIn(JOB_STATES, { message: `state must be one of: ${JOB_STATES.join(', ')}` })
  state?: JobState;

  @PageLimit(500, 50)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'next_before_id of the previous page', pattern: JOB_ID.source })
  @IsOptional()
  @Matches(JOB_ID, { message: 'before_id must be a job id (1-18 digits)' })
  before_id?: string;
}

export class JobIdParams {
  @ApiProperty({ pattern: JOB_ID.source, example: '42' })
  @Matches(JOB_ID, { message: 'id must be a job id (1-18 digits)' })
  id: string;
}

export class JobItemView {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ example: 'training-run', description: 'Kind of work: one of the values of the `name` filter' }) name: string;
  @ApiProperty({ description: 'Idempotency key: a run id, a delivery id, or `name@slot` for a cron slot' }) key: string;
  @ApiProperty({ enum: JOB_STATES }) state: JobState;
  @ApiProperty({ description: 'Claims so far (each start, retry or takeover after a dead replica counts one)' }) attempts: number;
  @ApiProperty() max_attempts: number;
  @ApiProperty({ description: 'A queued job does not start before this' }) run_after: string;
  @ApiNullable(String, { description: 'INSTANCE_ID of the replica running it (or that ran it last)' }) owner: string | null;
  @ApiNullable(Object, { additionalProperties: true, description: "The handler's last progress report" }) progress: Record<string, unknown> | null;
  @ApiNullable(String) last_error: string | null;
  @ApiProperty({ description: 'true once cancellation was asked for; a running job stops at its next heartbeat' }) cancel_requested: boolean;
  @ApiProperty() created_at: string;
  @ApiNullable(String) started_at: string | null;
  @ApiNullable(String) finished_at: string | null;
}

export class JobPage {
  @ApiProperty({ type: [JobItemView], description: 'Newest first' }) jobs: JobItemView[];
  @ApiNullable(String, { description: 'Pass as before_id for the next page; null on the last page' }) next_before_id: string | null;
}

export function toJobItemView(job: JobView): JobItemView {
  return {
    id: job.id,
    name: job.name,
    key: job.key,
    state: job.state,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    run_after: job.runAfter.toISOString(),
    owner: job.owner,
    progress: job.progress,
    last_error: job.lastError,
    cancel_requested: job.cancelRequested,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
  };
}
