import { CustomerValidator } from './customer-validator';
import { ModelSignature } from './model-signature';

const signature: ModelSignature = {
  format_version: 1,
  model_name: 'churn-model',
  inputs: [
    { name: 'age', type: 'integer', onnx_type: 'float32', minimum: 18, maximum: 100 },
    { name: 'monthly_charges', type: 'number', onnx_type: 'float32', exclusive_minimum: 0, maximum: 10000 },
    { name: 'contract', type: 'string', onnx_type: 'string', categories: ['Month-to-month', 'One year', 'Two year'] },
  ],
  outputs: { probabilities: 'probabilities', positive_class_index: 1 },
};

describe('CustomerValidator', () => {
  const v = new CustomerValidator(signature);
  const ok = { customer_id: 'C1', age: 30, monthly_charges: 10, contract: 'One year' };

  it('accepts a valid customer', () => {
    expect(v.errors(ok)).toEqual([]);
  });

  it("refuses every property that is not one of the model's inputs, naming it and the allowed fields", () => {
    const allowed = "is not a field of the model's input; allowed fields: customer_id, age, monthly_charges, contract";
    expect(v.errors({ ...ok, email: 'x@example.com', deep: [[[]]] })).toEqual([
      { field: 'email', message: allowed },
      { field: 'deep', message: allowed },
    ]);
    expect(v.errors({ ...ok, ssn: '000-00-0000' }, 'customers[3].')).toEqual([{ field: 'customers[3].ssn', message: allowed }]);
  });

  it("ignores properties the model does not read when asked for its inputs' errors only (a challenger scoring an accepted request)", () => {
    expect(v.inputErrors({ ...ok, crm_segment: 'gold' })).toEqual([]);
    expect(v.inputErrors({ ...ok, crm_segment: 'gold', age: 5 })).toEqual([{ field: 'age', message: 'must be >= 18' }]);
  });

  it('refuses a non-zero number that a 32-bit float input would read as 0, and one beyond float32', () => {
    const underflow = { field: 'monthly_charges', message: expect.stringMatching(/too close to zero .* 32-bit float .* at least 1.1754943508222875e-38/) };
    expect(v.errors({ ...ok, monthly_charges: 1e-300 })).toEqual([underflow]);
    expect(v.errors({ ...ok, monthly_charges: 1e-39 })).toEqual([underflow]);
    expect(v.errors({ ...ok, monthly_charges: 1.2e-38 })).toEqual([]);
    const unbounded = new CustomerValidator({ ...signature, inputs: [{ name: 'balance', type: 'number', onnx_type: 'float32' }] });
    expect(unbounded.errors({ customer_id: 'C1', balance: 0 })).toEqual([]);
    expect(unbounded.errors({ customer_id: 'C1', balance: -1e-40 })).toEqual([{ ...underflow, field: 'balance' }]);
    expect(unbounded.errors({ customer_id: 'C1', balance: 1e39 })).toEqual([{ field: 'balance', message: 'must be <= 3.4028234663852886e+38' }]);
    expect(unbounded.errors({ customer_id: 'C1', balance: -1e39 })).toEqual([{ field: 'balance', message: 'must be >= -3.4028234663852886e+38' }]);
    expect(unbounded.errors({ customer_id: 'C1', balance: 3.4028234663852886e38 })).toEqual([]);
  });

  it('names every offending field with a readable message', () => {
    expect(v.errors({ ...ok, age: 101, monthly_charges: 0, contract: 'Weekly' })).toEqual([
      { field: 'age', message: 'must be <= 100' },
      { field: 'monthly_charges', message: 'must be > 0' },
      { field: 'contract', message: 'must be one of: Month-to-month, One year, Two year' },
    ]);
  });

  it('reports missing fields, wrong types and a non-object body', () => {
    const { age: _age, ...noAge } = ok;
    expect(v.errors(noAge)).toEqual([{ field: 'age', message: 'is required' }]);
    expect(v.errors({ ...ok, age: '30' })).toEqual([{ field: 'age', message: 'must be an integer' }]);
    expect(v.errors({ ...ok, age: 30.5 })).toEqual([{ field: 'age', message: 'must be an integer' }]);
    expect(v.errors([])).toEqual([{ field: '(body)', message: 'must be a JSON object' }]);
  });

  it('prefixes fields with the row of a batch', () => {
    expect(v.errors({ ...ok, age: 5 }, 'customers[7].')).toEqual([{ field: 'customers[7].age', message: 'must be >= 18' }]);
  });
});
