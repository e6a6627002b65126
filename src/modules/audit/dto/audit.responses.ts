import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class AuditEntryView {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ example: '2025-11-26T10:00:00.123Z' }) at: string;
  @ApiPropertyOptional({ nullable: true, description: "API key id of the actor, or 'system'" }) actor_key_id: string | null;
  @ApiProperty({ example: 'stage.override' }) action: string;
  @ApiProperty({ example: 'model_version' }) target_type: string;
  @ApiProperty({ example: 'churn-model/3' }) target_id: string;
  @ApiPropertyOptional({ nullable: true }) model_name: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'State before the action (any JSON)' }) before: unknown;
  @ApiPropertyOptional({ nullable: true, description: 'State after the action (any JSON)' }) after: unknown;
  @ApiPropertyOptional({ nullable: true }) reason: string | null;
  @ApiPropertyOptional({ nullable: true }) request_id: string | null;
  @ApiProperty({ description: 'hash of the previous entry (64 zeros for the first)' }) prev_hash: string;
  @ApiProperty({ description: "sha256(prev_hash + '\\n' + canonical JSON of the entry)" }) hash: string;
}

export class AuditEntryList {
  @ApiProperty({ type: [AuditEntryView], description: 'Newest first' }) entries: AuditEntryView[];
  @ApiPropertyOptional({ nullable: true, description: 'Pass as before_id to get the next (older) page; null on the last page' })
  next_before_id: string | null;
}

export class AuditBreak {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'hash does not match the entry (the row was altered)' }) reason: string;
}

export class AuditVerification {
  @ApiProperty() valid: boolean;
  @ApiProperty({ description: 'Entries checked (up to and including the first broken one)' }) checked: number;
  @ApiPropertyOptional({ type: AuditBreak, nullable: true }) first_broken: AuditBreak | null;
}
