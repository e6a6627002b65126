import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsISO8601, IsObject, IsOptional, IsString, IsUUID, MaxLength, ValidateNested } from 'class-validator';
import { PageLimit } from '../../../common/http/page-limit';
import { ApiNullable } from '../../../common/openapi/api-nullable';

/** One alert of an Alertmanager webhook (payload version 4). */
export class AlertmanagerAlertDto {
  @ApiProperty({ enum: ['firing', 'resolved'] })
  @IsIn(['firing', 'resolved'], { message: 'status must be firing or resolved' })
  status: 'firing' | 'resolved';

  @ApiProperty({ example: { alertname: 'HighErrorRate', severity: 'critical', model_name: 'churn-model' } })
  @IsObject({ message: 'labels must be an object of strings' })
  labels: Record<string, string>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsObject({ message: 'annotations must be an object of strings' })
  annotations?: Record<string, string>;

  @ApiProperty({ format: 'date-time' })
  @IsISO8601({}, { message: 'startsAt must be an ISO 8601 date-time' })
  startsAt: string;

  @ApiPropertyOptional({ format: 'date-time', description: '0001-01-01T00:00:00Z while firing' })
  @IsOptional()
  @IsISO8601({}, { message: 'endsAt must be an ISO 8601 date-time' })
  endsAt?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  generatorURL?: string;

  @ApiProperty()
  @IsString({ message: 'fingerprint must be a string' })
  @MaxLength(128)
  fingerprint: string;
}

export class AlertmanagerWebhookDto {
  @ApiProperty({ example: '4' })
  @IsString()
  version: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  groupKey?: string;

  @ApiProperty({ enum: ['firing', 'resolved'] })
  @IsIn(['firing', 'resolved'], { message: 'status must be firing or resolved' })
  status: 'firing' | 'resolved';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  receiver?: string;

  @ApiProperty({ type: [AlertmanagerAlertDto] })
  @IsArray({ message: 'alerts must be an array' })
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => AlertmanagerAlertDto)
  alerts: AlertmanagerAlertDto[];
}

export class AlertIncidentView {
  @ApiProperty() id: string;
  @ApiProperty() alertname: string;
  @ApiNullable(String) severity: string | null;
  @ApiProperty({ enum: ['firing', 'resolved'] }) status: string;
  @ApiNullable(String) summary: string | null;
  @ApiNullable(String) model_name: string | null;
  @ApiNullable(String) model_version: string | null;
  @ApiProperty() labels: Record<string, string>;
  @ApiProperty() annotations: Record<string, string>;
  @ApiProperty() starts_at: string;
  @ApiNullable(String) ends_at: string | null;
  @ApiProperty() first_received_at: string;
  @ApiProperty() last_received_at: string;
  @ApiProperty({ description: 'Webhook deliveries of this incident (Alertmanager repeats them)' }) notifications: number;
  @ApiNullable(String, { description: 'What the service did about it, e.g. canary_rolled_back' }) action: string | null;
  @ApiNullable(String) generator_url: string | null;
}

export class ListAlertsQuery {
  @ApiPropertyOptional({ enum: ['firing', 'resolved'] })
  @IsOptional()
  @IsIn(['firing', 'resolved'], { message: 'status must be firing or resolved' })
  status?: 'firing' | 'resolved';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  model?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  alertname?: string;

  @ApiPropertyOptional({ description: 'Only incidents that started at or after this instant (ISO 8601), e.g. the window of a drift report' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO 8601 date-time' })
  since?: string;

  @ApiPropertyOptional({ description: 'Only incidents that started before this instant (ISO 8601, exclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 date-time' })
  until?: string;

  @PageLimit(200, 200)
  limit: number = 200;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only incidents after this one in the list: the id of the last incident of the previous page' })
  @IsOptional()
  @IsUUID('all', { message: 'before_id must be an incident id (a UUID): the id of the last incident of the previous page' })
  before_id?: string;
}
