import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { IsDateString, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { ApiKeysService, ApiKeyView } from './api-keys.service';
import { Principal, ROLES, Role } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'crm-sync' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role: Role;

  @ApiPropertyOptional({ description: 'Limit the key to one registered model' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'model_name must be a registered model name' })
  model_name?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 10_000_000, description: 'Requests per minute for this key (default RATE_LIMIT_PER_MINUTE)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  rate_limit_per_minute?: number;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateString({}, { message: 'expires_at must be an ISO-8601 date-time' })
  expires_at?: string;
}

@ApiTags('api-keys')
@ApiSecurity('api-key')
@Roles() // admin only
// Keys for every model: a model-scoped admin key could otherwise mint itself an unscoped one.
@ModelScoped(ModelFrom.allModels())
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ description: 'The key is returned once, in `key`; only its hash is stored' })
  async create(
    @Body() body: CreateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<ApiKeyView & { key: string }> {
    return this.keys.createAudited(
      {
        name: body.name,
        role: body.role,
        modelName: body.model_name ?? null,
        expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        rateLimitPerMinute: body.rate_limit_per_minute ?? null,
      },
      principal,
      req.id,
    );
  }

  @Get()
  list(): Promise<ApiKeyView[]> {
    return this.keys.list();
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The key stops working at once; it is returned with `state: revoked`' })
  @ApiProblem(409, 'The key is already revoked, or it is the key making the request (use another admin key)')
  revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<ApiKeyView> {
    return this.keys.revoke(id, principal, req.id);
  }
}
