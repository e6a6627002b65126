import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { ValidationFailedError } from '../../common/errors/app-error';
import { AuditChainMonitor } from './audit-chain.monitor';
import { AuditService } from './audit.service';
import { AuditEntryList, AuditVerification } from './dto/audit.responses';
import { ListAuditQuery } from './dto/list-audit.query';
import { VerifyAuditQuery } from './dto/verify-audit.query';

@ApiTags('audit')
@ApiSecurity('api-key')
@Roles('approver', 'operator')
@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly chain: AuditChainMonitor,
  ) {}

  @Get()
  @ModelScoped(ModelFrom.query('model')) // a key scoped to one model sees only that model's entries
  @ApiOperation({ summary: 'Audit entries, newest first, filtered by model, actor, action and time' })
  @ApiOkResponse({ type: AuditEntryList })
  list(@Query() query: ListAuditQuery): Promise<AuditEntryList> {
    return this.audit.list({
      modelName: query.model,
      actorKeyId: query.actor,
      action: query.action,
      from: instant('from', query.from),
      to: instant('to', query.to),
      limit: query.limit,
      beforeId: query.before_id,
    });
  }

  @Get('verify')
  @ModelScoped(ModelFrom.allModels()) // the chain runs through every model's entries
  @ApiOperation({
    summary: 'Recomputes the hash chain of the whole audit log and reports the first broken entry',
    description:
      'Keep the returned head (seq and hash) outside the database and pass it back as expected_head_seq and expected_head_hash: ' +
      'a chain whose newest entries were removed is still whole, and only such an anchor tells it was truncated.',
  })
  @ApiOkResponse({ type: AuditVerification })
  verify(@Query() query: VerifyAuditQuery): Promise<AuditVerification> {
    const expected =
      query.expected_head_seq !== undefined && query.expected_head_hash !== undefined ? [{ seq: query.expected_head_seq, hash: query.expected_head_hash }] : [];
    return this.chain.verify(expected);
  }
}

/** ISO 8601 text (already checked by the DTO) to a Date; forms JavaScript cannot place in time are refused. */
function instant(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new ValidationFailedError([{ field, message: `${field} must be an ISO 8601 date-time such as 2025-11-01T00:00:00Z` }]);
  return date;
}
