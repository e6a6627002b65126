export type RiskLevel = 'low' | 'medium' | 'high';

export interface RiskPolicy {
  churnThreshold: number;
  mediumThreshold: number;
  highThreshold: number;
}

export function riskLevel(p: number, policy: RiskPolicy): RiskLevel {
  if (p >= policy.highThreshold) return 'high';
  if (p >= policy.mediumThreshold) return 'medium';
  return 'low';
}

/** A next step for the customer-success team, from the risk level and the customer's main churn drivers. */
export function recommendation(level: RiskLevel, customer: Record<string, unknown>): string {
  const drivers: string[] = [];
  if (customer.contract === 'Month-to-month') drivers.push('offer a discounted one- or two-year contract');
  if (typeof customer.support_calls === 'number' && customer.support_calls >= 4) drivers.push('have a senior agent resolve open support issues');
  if (typeof customer.tenure_months === 'number' && customer.tenure_months < 6) drivers.push('run an onboarding check-in');
  const hint = drivers.length > 0 ? `: ${drivers.join('; ')}` : '';
  switch (level) {
    case 'high':
      return `High churn risk. Contact within 48 hours with a retention offer${hint}.`;
    case 'medium':
      return `Medium churn risk. Add to a proactive engagement campaign and review in 30 days${hint}.`;
    default:
      return 'Low churn risk. No retention action needed; a candidate for loyalty rewards or upsell.';
  }
}
