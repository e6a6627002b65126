import { Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { CustomerIdParams, ErasureView } from './dto/erasure.dto';
import { ErasureService } from './erasure.service';

@ApiTags('customers')
@ApiSecurity('api-key')
@Roles() // admin only
// A customer's data spans every model.
@ModelScoped(ModelFrom.allModels())
@Controller('api/v1/customers')
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  @Delete(':customer_id')
  @HttpCode(200)
  @ApiOperation({
    summary: "Right to erasure: remove a customer's predictions, outcomes and batch predictions (idempotent: an unknown customer answers counts of 0)",
    description:
      'Audited and recorded in the erasure log under the keyed hash only, never the raw id. The erasure log is also written to every backup store, ' +
      'and is replayed after a restore, so restoring an older backup does not bring the customer back.',
  })
  @ApiOkResponse({ type: ErasureView })
  erase(@Param() params: CustomerIdParams, @CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<ErasureView> {
    return this.erasure.erase(params.customer_id, principal, req.id);
  }
}
