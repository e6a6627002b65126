import { recommendation, riskLevel } from './risk';

describe('riskLevel', () => {
  const policy = { churnThreshold: 0.5, mediumThreshold: 0.3, highThreshold: 0.7 };
  it.each([
    [0, 'low'],
    [0.2999, 'low'],
    [0.3, 'medium'],
    [0.6999, 'medium'],
    [0.7, 'high'],
    [1, 'high'],
  ])('maps %p to %s', (p, level) => {
    expect(riskLevel(p, policy)).toBe(level);
  });
});

describe('recommendation', () => {
  it('names the drivers a customer-success agent can act on', () => {
    const text = recommendation('high', { contract: 'Month-to-month', support_calls: 6, tenure_months: 2 });
    expect(text).toMatch(/^High churn risk/);
    expect(text).toMatch(/contract/);
    expect(text).toMatch(/support/);
    expect(text).toMatch(/onboarding/);
  });
  it('asks for no action at low risk', () => {
    expect(recommendation('low', { contract: 'Month-to-month' })).toMatch(/No retention action/);
  });
});
