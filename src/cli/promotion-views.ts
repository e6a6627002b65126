/** A promotion request as the governance API returns it (GET /api/v1/models/:name/promotions/:id). */
export interface PromotionView {
  id: string;
  model_name: string;
  version: string;
  target_stage: string;
  state: 'pending_approval' | 'blocked' | 'rejected' | 'completed';
  reason: string;
  requested_by: string;
  gates: { name: string; passed: boolean; detail: string; value?: number | null; threshold?: number | null }[];
  gates_passed: boolean;
  four_eyes: boolean;
  decided_by: string | null;
  decision_reason: string | null;
  decided_at: string | null;
  completed_at: string | null;
  created_at: string;
}

/** What a person needs to act on a request: its state, what comes next, and each gate. */
export function describePromotion(p: PromotionView): string {
  const lines = [`promotion ${p.id}: ${p.model_name} v${p.version} → ${p.target_stage}: ${p.state.toUpperCase()}`];
  lines.push(`  requested by key ${p.requested_by} at ${p.created_at}: ${p.reason}`);
  for (const g of p.gates) lines.push(`  ${g.passed ? 'PASS' : 'FAIL'}  ${g.name}: ${g.detail}`);
  if (p.decided_by) lines.push(`  decided by key ${p.decided_by} at ${p.decided_at}: ${p.decision_reason ?? ''}`);
  lines.push(`  ${nextStep(p)}`);
  return lines.join('\n');
}

function nextStep(p: PromotionView): string {
  switch (p.state) {
    case 'pending_approval':
      return `Awaits approval${p.four_eyes ? ` by an approver other than key ${p.requested_by}` : ''}: npm run cli -- approve ${p.id} --reason "..." (or reject)`;
    case 'blocked':
      return 'Blocked: the failing gates above must pass; fix the model and request again.';
    case 'rejected':
      return 'Rejected: nothing changed.';
    default:
      return `Completed: v${p.version} is in ${p.target_stage}${p.completed_at ? ` since ${p.completed_at}` : ''}.`;
  }
}
