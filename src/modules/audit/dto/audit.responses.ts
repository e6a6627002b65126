import { ApiProperty } from '@nestjs/swagger';
import { ApiNullable } from '../../../common/openapi/api-nullable';
import { HASH_SCHEMES, HashScheme } from '../audit-hash';

export class AuditEntryView {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ example: '2025-11-26T10:00:00.123Z' }) at: string;
  @ApiNullable(String, { description: "API key id of the actor, or 'system'" }) actor_key_id: string | null;
  @ApiProperty({ example: 'stage.override' }) action: string;
  @ApiProperty({ example: 'model_version' }) target_type: string;
  @ApiProperty({ example: 'churn-model/3' }) target_id: string;
  @ApiNullable(String) model_name: string | null;
  @ApiProperty({
    required: true,
    nullable: true,
    description: 'State before the action (any JSON)',
    anyOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }],
  })
  before: unknown;
  @ApiProperty({
    required: true,
    nullable: true,
    description: 'State after the action (any JSON)',
    anyOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }],
  })
  after: unknown;
  @ApiNullable(String) reason: string | null;
  @ApiNullable(String) request_id: string | null;
  @ApiProperty({ description: 'hash of the previous entry (64 zeros for the first)' }) prev_hash: string;
  @ApiProperty({
    description:
      "hash_scheme hmac-sha256: HMAC-SHA256(AUDIT_HMAC_KEY, 'hmac-sha256\\n' + prev_hash + '\\n' + canonical JSON of the entry); sha256 (entries written before the keyed chain): sha256(prev_hash + '\\n' + canonical JSON)",
  })
  hash: string;
  @ApiProperty({ enum: HASH_SCHEMES, description: 'How hash was computed' }) hash_scheme: HashScheme;
}

export class AuditEntryList {
  @ApiProperty({ type: [AuditEntryView], description: 'Newest first' }) entries: AuditEntryView[];
  @ApiNullable(String, { description: 'Pass as before_id to get the next (older) page; null on the last page' })
  next_before_id: string | null;
}

export class AuditBreak {
  @ApiNullable(String, { description: 'Id of the broken entry; null when entries are missing at the end (truncation)' }) id: string | null;
  @ApiProperty({ type: 'integer', description: 'Position of the broken (or first missing) entry in the chain, 1 for the first' }) seq: number;
  @ApiProperty({ example: 'hash does not match the entry (the row was altered, or AUDIT_HMAC_KEY is not the key it was written with)' }) reason: string;
}

export class AuditHeadView {
  @ApiProperty({ type: 'integer', description: 'Position of the newest entry (the number of entries)', example: 42 }) seq: number;
  @ApiProperty({ example: '57' }) id: string;
  @ApiProperty() hash: string;
}

export class AuditSegment {
  @ApiProperty({ enum: HASH_SCHEMES }) scheme: HashScheme;
  @ApiProperty() first_id: string;
  @ApiProperty() last_id: string;
  @ApiProperty({ type: 'integer' }) entries: number;
}

export class AuditVerification {
  @ApiProperty() valid: boolean;
  @ApiProperty({ description: 'Entries checked (up to and including the first broken one)' }) checked: number;
  @ApiNullable(AuditBreak) first_broken: AuditBreak | null;
  @ApiNullable(AuditHeadView, {
    description:
      'The verified head: keep it outside the database and pass it back as expected_head_seq/expected_head_hash to detect truncation. Null when broken or empty.',
  })
  head: AuditHeadView | null;
  @ApiProperty({ type: [AuditSegment], description: 'Runs of consecutive verified entries by hash scheme, oldest first' }) segments: AuditSegment[];
}
