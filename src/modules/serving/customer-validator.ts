import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { FieldError } from '../../common/errors/app-error';
import { ModelSignature } from './model-signature';

export type CustomerRecord = Record<string, unknown> & { customer_id: string };

/** Largest finite float32, and smallest positive normal one: the model's numeric inputs are float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * JSON schema of one customer as the served model accepts it. Only the model's inputs and
 * `customer_id` are allowed: an unknown property is refused, never logged. A float32 input is
 * bounded to what float32 represents (no overflow to Infinity, no non-zero value that underflows).
 */
export function customerJsonSchema(signature: ModelSignature, opts: { allowUnknown?: boolean } = {}): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    customer_id: { type: 'string', minLength: 1, maxLength: 128 },
  };
  for (const input of signature.inputs) {
    if (input.type === 'string') {
      properties[input.name] = { type: 'string', enum: input.categories };
    } else {
      const float32 = input.onnx_type === 'float32';
      const minimum = float32 ? Math.max(input.minimum ?? -FLOAT32_MAX, -FLOAT32_MAX) : input.minimum;
      const maximum = float32 ? Math.min(input.maximum ?? FLOAT32_MAX, FLOAT32_MAX) : input.maximum;
      properties[input.name] = {
        type: input.type,
        ...(minimum !== undefined ? { minimum } : {}),
        ...(maximum !== undefined ? { maximum } : {}),
        ...(input.exclusive_minimum !== undefined ? { exclusiveMinimum: input.exclusive_minimum } : {}),
        ...(float32 && input.type === 'number' ? { float32Normal: true } : {}),
      };
    }
  }
  return {
    type: 'object',
    required: ['customer_id', ...signature.inputs.map((i) => i.name)],
    properties,
    ...(opts.allowUnknown ? {} : { additionalProperties: false }),
  };
}

/** Compiled once per loaded model; checks one customer and names every offending field. */
export class CustomerValidator {
  private readonly validate: ValidateFunction;
  private readonly validateInputs: ValidateFunction;
  private readonly allowed: string;

  constructor(signature: ModelSignature) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addKeyword({
      keyword: 'float32Normal',
      type: 'number',
      schemaType: 'boolean',
      errors: false,
      validate: (_: boolean, x: number) => x === 0 || Math.abs(x) >= FLOAT32_MIN_NORMAL,
    });
    this.validate = ajv.compile(customerJsonSchema(signature));
    this.validateInputs = ajv.compile(customerJsonSchema(signature, { allowUnknown: true }));
    this.allowed = ['customer_id', ...signature.inputs.map((i) => i.name)].join(', ');
  }

  /** The request contract: field errors of `value`, each prefixed with `prefix` (e.g. `[3].`). Empty when valid. */
  errors(value: unknown, prefix = ''): FieldError[] {
    if (this.validate(value)) return [];
    return (this.validate.errors ?? []).map((e) => toFieldError(e, prefix, this.allowed));
  }

  /** Like errors(), but properties the model does not read are ignored (a row already accepted under another model's contract). */
  inputErrors(value: unknown, prefix = ''): FieldError[] {
    if (this.validateInputs(value)) return [];
    return (this.validateInputs.errors ?? []).map((e) => toFieldError(e, prefix, this.allowed));
  }
}

function toFieldError(e: ErrorObject, prefix: string, allowed: string): FieldError {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  switch (e.keyword) {
    case 'required':
      return { field: join(prefix, path, (e.params as { missingProperty: string }).missingProperty), message: 'is required' };
    case 'additionalProperties':
      return {
        field: join(prefix, path, (e.params as { additionalProperty: string }).additionalProperty),
        message: `is not a field of the model's input; allowed fields: ${allowed}`,
      };
    case 'enum':
      return { field: join(prefix, path), message: `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    case 'type':
      return {
        field: join(prefix, path),
        message: path ? `must be ${e.params.type === 'integer' ? 'an integer' : `a ${e.params.type}`}` : 'must be a JSON object',
      };
    case 'float32Normal':
      return {
        field: join(prefix, path),
        message: `is too close to zero for the model's 32-bit float input (it would be read as 0): send 0 or a magnitude of at least ${FLOAT32_MIN_NORMAL}`,
      };
    default:
      return { field: join(prefix, path), message: e.message ?? 'is invalid' };
  }
}

function join(prefix: string, ...parts: string[]): string {
  const path = parts.filter(Boolean).join('.');
  if (!prefix) return path || '(body)';
  return path ? `${prefix}${path}` : prefix.replace(/\.$/, '');
}
