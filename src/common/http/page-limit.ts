import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * The bounded `limit` query parameter of a list endpoint: an integer from 1 to `max`, documented with
 * its default (the property initialiser gives the default: `@PageLimit(500, 50) limit: number = 50`).
 * A decorator rather than a base class, so that each query keeps its parameters in the order the
 * OpenAPI document has always listed them (inherited properties would come first).
 */
export function PageLimit(max: number, defaultLimit: number): PropertyDecorator {
  const stacked = [
    ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: max, default: defaultLimit }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: 'limit must be an integer' }),
    Min(1),
    Max(max),
  ];
  // Applied bottom-up, as when written above the property: the validation errors keep their order.
  return applyDecorators(...stacked.reverse());
}
