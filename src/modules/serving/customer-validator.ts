import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { FieldError } from 'src/common/errors/app-error';
import { ModelSignature } from 'src/modules/serving/model-signature';

export type CustomerRecord = Record<string, unknown> & { customer_id: string };

/** JSON schema of one customer as the served model accepts it (also published in OpenAPI). */
export function customerJsonSchema(signature: ModelSignature): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    customer_id: { type: 'string', minLength: 1, maxLength: 128 },
  };
  for (const input of signature.inputs) {
    if (input.type === 'string') {
      properties[input.name] = { type: 'string', enum: input.categories };
    } else {
      properties[input.name] = {
        type: input.type,
        ...(input.minimum !== undefined ? { minimum: input.minimum } : {}),
        ...(input.maximum !== undefined ? { maximum: input.maximum } : {}),
        ...(input.exclusive_minimum !== undefined ? { exclusiveMinimum: input.exclusive_minimum } : {}),
      };
    }
  }
  return {
    type: 'object',
    required: ['customer_id', ...signature.inputs.map((i) => i.name)],
    properties,
  };
}

/** Compiled once per loaded model; checks one customer and names every offending field. */
export class CustomerValidator {
  private readonly validate: ValidateFunction;

  constructor(signature: ModelSignature) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    this.validate = ajv.compile(customerJsonSchema(signature));
  }

  /** Returns the field errors of `value`, each prefixed with `prefix` (e.g. `[3].`). Empty when valid. */
  errors(value: unknown, prefix = ''): FieldError[] {
    if (this.validate(value)) return [];
    return (this.validate.errors ?? []).map((e) => toFieldError(e, prefix));
  }
}

function toFieldError(e: ErrorObject, prefix: string): FieldError {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  switch (e.keyword) {
    case 'required':
      return { field: join(prefix, path, (e.params as { missingProperty: string }).missingProperty), message: 'is required' };
    case 'enum':
      return { field: join(prefix, path), message: `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    case 'type':
      return { field: join(prefix, path), message: path ? `must be ${e.params.type === 'integer' ? 'an integer' : `a ${e.params.type}`}` : 'must be a JSON object' };
    default:
      return { field: join(prefix, path), message: e.message ?? 'is invalid' };
  }
}

function join(prefix: string, ...parts: string[]): string {
  const path = parts.filter(Boolean).join('.');
  if (!prefix) return path || '(body)';
  return path ? `${prefix}${path}` : prefix.replace(/\.$/, '');
}
