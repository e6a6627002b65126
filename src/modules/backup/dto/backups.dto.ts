import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, Matches } from 'class-validator';
import { PageLimit } from '../../../common/http/page-limit';
import { ApiNullable } from '../../../common/openapi/api-nullable';
import { JobItemView } from '../../jobs/dto/jobs.dto';
import { BackupEntity } from '../entities/backup.entity';
import { DrillCheck, RestoreDrillEntity } from '../entities/restore-drill.entity';
import { BACKUP_ID_PATTERN } from '../manifest';

const KINDS = ['full', 'database', 'artifacts'] as const;

export class TakeBackupDto {
  @ApiPropertyOptional({
    enum: KINDS,
    default: 'full',
    description: "full: database + MLflow store + artifacts; database: ours and MLflow's store; artifacts: MLflow's artifacts",
  })
  @IsOptional()
  @IsIn(KINDS, { message: `kind must be one of: ${KINDS.join(', ')}` })
  kind?: (typeof KINDS)[number];
}

export class BackupIdParams {
  @ApiProperty({ pattern: BACKUP_ID_PATTERN.source, example: '20261204T020000.000Z-3f9a1c' })
  @Matches(BACKUP_ID_PATTERN, { message: 'id must be a backup id such as 20261204T020000.000Z-3f9a1c' })
  id: string;
}

export class ListBackupsQuery {
  @PageLimit(200, 50)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'next_before_id of the previous page', pattern: BACKUP_ID_PATTERN.source })
  @IsOptional()
  @Matches(BACKUP_ID_PATTERN, { message: 'before_id must be a backup id such as 20261204T020000.000Z-3f9a1c' })
  before_id?: string;
}

export class RestoreBackupDto {
  @ApiProperty({
    description:
      'Must be true: the API checks a restore (every object downloaded from every destination and its sha256 verified) without touching anything. ' +
      'A restore in place replaces the database this service runs on: stop the service and run `npm run cli -- backup restore <id>`.',
  })
  @IsBoolean({ message: 'dry_run must be a boolean' })
  dry_run: boolean;
}

export class BackupView {
  @ApiProperty({ example: '20261204T020000.000Z-3f9a1c' }) id: string;
  @ApiProperty({ enum: KINDS }) kind: string;
  @ApiProperty({ enum: ['running', 'completed', 'failed'] }) status: string;
  @ApiProperty({ description: 'schedule, api or cli' }) trigger: string;
  @ApiNullable(String) job_id: string | null;
  @ApiProperty() started_at: string;
  @ApiNullable(String) finished_at: string | null;
  @ApiNullable(Number, { description: 'Bytes of every object the backup names' }) bytes: number | null;
  @ApiNullable(Number, { description: 'Bytes actually sent (objects already in a destination are not sent again)' }) uploaded_bytes: number | null;
  @ApiNullable(Number) objects: number | null;
  @ApiProperty({ type: [String], description: 'local, s3' }) destinations: string[];
  @ApiNullable(String, { description: 'sha256 of the manifest (also stored beside it)' }) manifest_sha256: string | null;
  @ApiNullable(String) error: string | null;
}

export class BackupPage {
  @ApiProperty({ type: [BackupView], description: 'Newest first' }) backups: BackupView[];
  @ApiNullable(String) next_before_id: string | null;
}

export class BackupDetail extends BackupView {
  @ApiNullable(Object, { additionalProperties: true, description: 'The manifest, when the backup is complete in a destination' }) manifest: Record<
    string,
    unknown
  > | null;
}

export class BackupJobAccepted {
  @ApiProperty({ type: JobItemView, description: 'Poll GET /api/v1/jobs/{id} for progress and the outcome' }) job: JobItemView;
}

export class DrillCheckView {
  @ApiProperty() name: string;
  @ApiProperty() ok: boolean;
  @ApiProperty() detail: string;
}

export class DrillView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiNullable(String) backup_id: string | null;
  @ApiProperty({ enum: ['running', 'passed', 'failed'] }) status: string;
  @ApiProperty() trigger: string;
  @ApiProperty() started_at: string;
  @ApiNullable(String) finished_at: string | null;
  @ApiNullable(Number, { description: 'Measured RTO: seconds to restore and verify' }) rto_seconds: number | null;
  @ApiProperty({ type: [DrillCheckView] }) checks: DrillCheck[];
  @ApiNullable(String) error: string | null;
}

export class DrillPage {
  @ApiProperty({ type: [DrillView], description: 'Newest first' }) drills: DrillView[];
}

export class ListDrillsQuery {
  @PageLimit(100, 20)
  limit: number = 20;
}

export function toBackupView(b: BackupEntity): BackupView {
  return {
    id: b.id,
    kind: b.kind,
    status: b.status,
    trigger: b.trigger,
    job_id: b.jobId,
    started_at: b.startedAt.toISOString(),
    finished_at: b.finishedAt?.toISOString() ?? null,
    bytes: b.bytes === null ? null : Number(b.bytes),
    uploaded_bytes: b.uploadedBytes === null ? null : Number(b.uploadedBytes),
    objects: b.objects,
    destinations: b.destinations,
    manifest_sha256: b.manifestSha256,
    error: b.error,
  };
}

export function toDrillView(d: RestoreDrillEntity): DrillView {
  return {
    id: d.id,
    backup_id: d.backupId,
    status: d.status,
    trigger: d.trigger,
    started_at: d.startedAt.toISOString(),
    finished_at: d.finishedAt?.toISOString() ?? null,
    rto_seconds: d.rtoSeconds,
    checks: d.checks,
    error: d.error,
  };
}

export class RecoveryPointObjective {
  @ApiProperty({ description: 'Continuous WAL archiving (point-in-time restore) is on' }) wal_archiving: boolean;
  @ApiNullable(Number, { description: 'With WAL archiving: seconds of committed WAL not yet archived now (what a crash would lose)' })
  current_seconds: number | null;
  @ApiNullable(Number, { description: 'With WAL archiving: the most WAL time a crash can lose (archive_timeout)' }) bound_seconds: number | null;
  @ApiNullable(Number, { description: 'Seconds since the newest completed backup that holds the database (the RPO without WAL archiving)' })
  since_last_backup_seconds: number | null;
}

export class RestorePointView {
  @ApiProperty({ example: '20261204T020000.000Z-3f9a1c' }) backup_id: string;
  @ApiProperty({ enum: KINDS }) kind: string;
  @ApiProperty() finished_at: string;
}

export class BackupStatusView {
  @ApiNullable(BackupView, { description: 'The newest completed backup' }) last_backup: BackupView | null;
  @ApiNullable(BackupView, { description: 'The newest backup attempt that failed, if newer than the last completed one' }) last_failure: BackupView | null;
  @ApiNullable(DrillView, { description: 'The newest restore drill that passed (the backup it restored is verified)' }) last_verified_drill: DrillView | null;
  @ApiNullable(DrillView, { description: 'The newest restore drill, whatever its outcome' }) last_drill: DrillView | null;
  @ApiProperty({ type: RecoveryPointObjective }) rpo: RecoveryPointObjective;
  @ApiNullable(Number, { description: 'Measured RTO: seconds the last passing drill took to restore and verify' }) rto_seconds: number | null;
  @ApiProperty({ type: [RestorePointView], description: 'Completed backups to restore from, newest first (at most 50)' }) restore_points: RestorePointView[];
}
