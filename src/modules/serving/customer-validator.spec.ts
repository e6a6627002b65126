import { CustomerValidator } from 'src/modules/serving/customer-validator';
import { ModelSignature } from 'src/modules/serving/model-signature';

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

  it('accepts a valid customer and ignores extra fields', () => {
    expect(v.errors(ok)).toEqual([]);
    expect(v.errors({ ...ok, crm_segment: 'gold' })).toEqual([]);
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
