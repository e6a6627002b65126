import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { SETTABLE_STAGES, SettableStage } from '../stages';

export class SetStageDto {
  @ApiProperty({ enum: SETTABLE_STAGES, example: 'Production' })
  @IsIn(SETTABLE_STAGES, { message: `stage must be one of: ${SETTABLE_STAGES.join(', ')}` })
  stage: SettableStage;

  @ApiPropertyOptional({ maxLength: 2000, example: 'Beats v3 on PR-AUC by 0.04; approved in #ml-review' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}
