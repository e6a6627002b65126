import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, Matches } from 'class-validator';
import { PageLimit } from '../../../common/http/page-limit';

const VERSION = /^[1-9][0-9]{0,9}$/;

/** Query parameters of GET /api/v1/models/:name/stages-at. */
export class StagesAtQuery {
  @ApiProperty({ description: 'The instant to answer for (ISO 8601)', example: '2026-11-01T12:00:00Z' })
  @IsISO8601({ strict: true }, { message: 'at must be an ISO 8601 date-time, e.g. 2026-11-01T12:00:00Z' })
  at: string;
}

/** Query parameters of GET /api/v1/models/:name/versions/compare. */
export class CompareVersionsQuery {
  @ApiProperty({ description: 'The first version (the baseline)', example: '1' })
  @Matches(VERSION, { message: 'a must be a version number, e.g. 3' })
  a: string;

  @ApiProperty({ description: 'The second version (compared with a)', example: '2' })
  @Matches(VERSION, { message: 'b must be a version number, e.g. 4' })
  b: string;
}

/** Query parameters of the stage-history lists (newest first). */
export class StageHistoryQuery {
  @PageLimit(500, 500)
  limit: number = 500;

  @ApiPropertyOptional({ description: 'Only changes older than this one: the id of the last change of the previous page', example: '1234' })
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,17}$/, { message: 'before_id must be a stage change id (a positive integer): the id of the last change of the previous page' })
  before_id?: string;
}
