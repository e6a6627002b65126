import { redactCustomerId } from './logging.module';

describe('request log', () => {
  it('never carries the raw customer id of DELETE /api/v1/customers/{id}', () => {
    expect(redactCustomerId('/api/v1/customers/CUST%2012345?x=1')).toBe('/api/v1/customers/[redacted]?x=1');
    expect(redactCustomerId('/api/v1/customers/CUST12345')).toBe('/api/v1/customers/[redacted]');
    expect(redactCustomerId('/api/v1/outcomes')).toBe('/api/v1/outcomes');
  });
});
