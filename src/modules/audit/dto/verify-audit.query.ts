import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min, ValidateIf } from 'class-validator';

/** Query parameters of GET /api/v1/audit/verify: an optional head kept outside the database. */
export class VerifyAuditQuery {
  @ApiPropertyOptional({
    description: 'Position of an anchored head (head.seq of an earlier verification); needs expected_head_hash',
    example: 42,
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
  })
  @ValidateIf((q: VerifyAuditQuery) => q.expected_head_seq !== undefined || q.expected_head_hash !== undefined)
  @Type(() => Number)
  @IsInt({ message: 'expected_head_seq must be an integer (head.seq of an earlier verification), given together with expected_head_hash' })
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  expected_head_seq?: number;

  @ApiPropertyOptional({
    description: 'Hash of the anchored head (head.hash); needs expected_head_seq',
    example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  })
  @ValidateIf((q: VerifyAuditQuery) => q.expected_head_seq !== undefined || q.expected_head_hash !== undefined)
  @Matches(/^[0-9a-f]{64}$/, { message: 'expected_head_hash must be 64 lowercase hex characters (head.hash), given together with expected_head_seq' })
  expected_head_hash?: string;
}
