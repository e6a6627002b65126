import { Type } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';

type NullableType = StringConstructor | NumberConstructor | BooleanConstructor | ObjectConstructor | 'integer' | Type<unknown> | [Type<unknown>];

/**
 * A response property that is always present and may be null. The type must be named: a
 * `string | null` property reflects as Object, which Swagger would publish as a nullable object
 * and every non-null value would then violate the schema.
 */
export function ApiNullable(type: NullableType, options: Omit<ApiPropertyOptions, 'type' | 'nullable'> = {}): PropertyDecorator {
  return ApiProperty({ required: true, ...options, type, nullable: true } as ApiPropertyOptions);
}
