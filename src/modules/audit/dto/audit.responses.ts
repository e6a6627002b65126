import { ApiProperty } from '@nestjs/swagger';
import { ApiNullable } from 'src/common/openapi/api-nullable';

export class AuditEntryView {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ example: '2025-11-26T10:00:00.123Z' }) at: string;
  @ApiNullable(String, { description: "API key id of the actor, or 'system'" }) actor_key_id: string | null;
  @ApiProperty({ example: 'stage.override' }) action: string;
  @ApiProperty({ example: 'model_version' }) target_type: string;
  @ApiProperty({ example: 'churn-model/3' }) target_id: string;
  @ApiNullable(String) model_name: string | null;
  @ApiProperty({ required: true, nullable: true, description: 'State before the action (any JSON)', anyOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }] }) before: unknown;
  @ApiProperty({ required: true, nullable: true, description: 'State after the action (any JSON)', anyOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }] }) after: unknown;
  @ApiNullable(String) reason: string | null;
  @ApiNullable(String) request_id: string | null;
  @ApiProperty({ description: 'hash of the previous entry (64 zeros for the first)' }) prev_hash: string;
  @ApiProperty({ description: "sha256(prev_hash + '\\n' + canonical JSON of the entry)" }) hash: string;
}

export class AuditEntryList {
  @ApiProperty({ type: [AuditEntryView], description: 'Newest first' }) entries: AuditEntryView[];
  @ApiNullable(String, { description: 'Pass as before_id to get the next (older) page; null on the last page' })
  next_before_id: string | null;
}

export class AuditBreak {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'hash does not match the entry (the row was altered)' }) reason: string;
}

export class AuditVerification {
  @ApiProperty() valid: boolean;
  @ApiProperty({ description: 'Entries checked (up to and including the first broken one)' }) checked: number;
  @ApiNullable(AuditBreak) first_broken: AuditBreak | null;
}
