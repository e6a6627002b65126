import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One offending field of a 4xx (the OpenAPI shape of FieldError). */
export class FieldErrorView {
  @ApiProperty({ description: 'Path of the offending field, e.g. `age`, `[3].contract` or `query.limit`', example: 'limit' })
  field: string;

  @ApiProperty({ example: 'limit must not be greater than 1000' })
  message: string;
}

/**
 * Every error body the service sends (application/problem+json, RFC 9457): the filter builds it,
 * and the same class is the `ProblemDetails` schema of the OpenAPI document.
 */
export class ProblemDetails {
  @ApiProperty({ example: 'https://churn-control-plane.dev/problems/validation-failed' })
  type: string;

  @ApiProperty({ example: 'Bad request' })
  title: string;

  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 })
  status: number;

  @ApiProperty({ description: 'What went wrong and what to do next; never carries internals' })
  detail: string;

  @ApiProperty({ description: 'Stable machine-readable code', example: 'VALIDATION_FAILED' })
  code: string;

  @ApiProperty({ description: 'Path of the request', example: '/api/v1/training/runs' })
  instance: string;

  @ApiPropertyOptional({ description: 'X-Request-Id of the request, for the logs' })
  request_id?: string;

  @ApiPropertyOptional({ type: [FieldErrorView], description: 'Each offending field (validation errors)' })
  errors?: FieldErrorView[];
}
