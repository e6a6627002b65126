import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ConflictError, NotFoundError } from '../../common/errors/app-error';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { AuditService } from '../audit/audit.service';
import { toJobItemView } from '../jobs/dto/jobs.dto';
import { JobName } from '../jobs/job-names';
import { JobsService } from '../jobs/jobs.service';
import { BackupRunJob, RestoreCheckJob, RestoreDrillJob } from './backup.jobs';
import { BackupService } from './backup.service';
import { BackupStatusService } from './backup-status.service';
import { RestoreDrillService } from './restore-drill.service';
import {
  BackupDetail,
  BackupIdParams,
  BackupJobAccepted,
  BackupPage,
  BackupStatusView,
  DrillPage,
  ListBackupsQuery,
  ListDrillsQuery,
  RestoreBackupDto,
  TakeBackupDto,
  toBackupView,
  toDrillView,
} from './dto/backups.dto';

/** Backups, restore checks and restore drills: admin only, every action audited. */
@ApiTags('backups')
@ApiSecurity('api-key')
@Roles() // admin only
@ModelScoped(ModelFrom.allModels()) // a backup holds every model
@Controller('api/v1/backups')
export class BackupController {
  constructor(
    private readonly backups: BackupService,
    private readonly drills: RestoreDrillService,
    private readonly statusReport: BackupStatusService,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: BackupJobAccepted, description: 'The backup runs as a job; poll it at GET /api/v1/jobs/{id}' })
  async take(@Body() body: TakeBackupDto, @CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<BackupJobAccepted> {
    const kind = body.kind ?? 'full';
    return this.enqueue(JobName.BackupRun, { kind, trigger: 'api' } satisfies BackupRunJob, 'backup.requested', { kind }, principal, req);
  }

  @Get()
  @ApiOkResponse({ type: BackupPage, description: 'Backup attempts (failed ones too), newest first' })
  async list(@Query() query: ListBackupsQuery): Promise<BackupPage> {
    const rows = await this.backups.history(query.limit + 1, query.before_id);
    const page = rows.slice(0, query.limit);
    return { backups: page.map(toBackupView), next_before_id: rows.length > query.limit ? page[page.length - 1].id : null };
  }

  @Get('status')
  @ApiOkResponse({ type: BackupStatusView, description: 'Last backup, last verified restore drill, RPO, RTO and restore points' })
  status(): Promise<BackupStatusView> {
    return this.statusReport.status();
  }

  @Get('drills')
  @ApiOkResponse({ type: DrillPage })
  async listDrills(@Query() query: ListDrillsQuery): Promise<DrillPage> {
    return { drills: (await this.drills.list(query.limit)).map(toDrillView) };
  }

  @Post('drills')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: BackupJobAccepted, description: 'The drill runs as a job; its result is listed at GET /api/v1/backups/drills' })
  async drill(@CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<BackupJobAccepted> {
    return this.enqueue(JobName.RestoreDrill, { trigger: 'api' } satisfies RestoreDrillJob, 'backup.drill_requested', {}, principal, req);
  }

  @Get(':id')
  @ApiOkResponse({ type: BackupDetail })
  @ApiProblem(404, 'No such backup')
  async get(@Param() params: BackupIdParams): Promise<BackupDetail> {
    const attempt = await this.backups.attempt(params.id);
    const manifest = await this.backups.manifest(params.id);
    if (!attempt && !manifest) throw new NotFoundError(`Backup ${params.id} does not exist; list backups with GET /api/v1/backups.`);
    const view = attempt
      ? toBackupView(attempt)
      : {
          ...toBackupView({
            id: manifest!.id,
            kind: manifest!.kind,
            status: 'completed',
            trigger: 'unknown',
            jobId: null,
            startedAt: new Date(manifest!.created_at),
            finishedAt: null,
            bytes: null,
            uploadedBytes: null,
            objects: null,
            destinations: [],
            manifestSha256: null,
            sizes: null,
            error: null,
          }),
        };
    return { ...view, manifest: manifest ? (manifest as unknown as Record<string, unknown>) : null };
  }

  @Post(':id/restore')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: BackupJobAccepted, description: 'The check runs as a job; its result is in the job progress' })
  @ApiProblem(404, 'No such complete backup')
  @ApiProblem(409, 'dry_run was false: a restore in place is done with the CLI, the service stopped')
  async restore(
    @Param() params: BackupIdParams,
    @Body() body: RestoreBackupDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<BackupJobAccepted> {
    if (!body.dry_run) {
      throw new ConflictError(
        `A restore replaces the database this service runs on, so it is not done through the API: stop the service and run ` +
          `\`npm run cli -- backup restore ${params.id}\` (add --dry-run to check it first). POST with {"dry_run": true} checks every object now.`,
      );
    }
    if (!(await this.backups.manifest(params.id)))
      throw new NotFoundError(`Backup ${params.id} is not complete in any destination; list backups with GET /api/v1/backups.`);
    return this.enqueue(
      JobName.BackupRestoreCheck,
      { backupId: params.id } satisfies RestoreCheckJob,
      'backup.restore_checked',
      { backup_id: params.id },
      principal,
      req,
    );
  }

  private async enqueue(
    name: JobName,
    payload: BackupRunJob | RestoreCheckJob | RestoreDrillJob,
    action: string,
    after: Record<string, unknown>,
    principal: Principal,
    req: AuthenticatedRequest,
  ): Promise<BackupJobAccepted> {
    const { job } = await this.jobs.enqueue(name, { ...payload }, { key: `api-${randomUUID()}` });
    await this.audit.record({
      actorKeyId: principal.keyId,
      action,
      targetType: 'backup',
      targetId: job.id,
      after: { ...after, job_id: job.id },
      requestId: req.id,
    });
    return { job: toJobItemView(job) };
  }
}
