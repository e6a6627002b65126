import { ApiCall, CliUsageError, option } from './api-client';
import { CliError } from './errors';
import { CliIo } from './output';
import { describePromotion, PromotionView } from './promotion-views';

export const GOVERNANCE_USAGE = `  promote <model> <version> --stage Production|Staging --reason <text>
                               request a promotion: the gates run at once; exit code 1 when they block it
  promotions [--model <name>] [--pending]   promotion requests, newest first (find the id to approve)
  approve <request id> --reason <text> [--model <name>]   approve a pending promotion (an approver other than the requester)
  reject <request id> --reason <text> [--model <name>]    reject a pending promotion`;

const enc = encodeURIComponent;

/** `promote <model> <version> --stage S --reason R`: requests a promotion through the governance API. */
export async function promoteCommand(call: ApiCall, args: string[], io: CliIo): Promise<number> {
  const [model, version] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!model || !version) throw new CliUsageError('promote needs a model and a version, e.g. `promote churn-model 7 --stage Production --reason "..."`');
  const stage = option(args, 'stage');
  if (stage !== 'Production' && stage !== 'Staging') throw new CliUsageError('promote needs --stage Production or --stage Staging');
  const reason = requiredReason(args, 'promote');
  const p = await call<PromotionView>('POST', `/api/v1/models/${enc(model)}/versions/${enc(version)}/promotions`, { target_stage: stage, reason });
  io.result(p);
  io.text(describePromotion(p));
  return p.state === 'blocked' ? 1 : 0;
}

/** `approve|reject <id> --reason R [--model NAME]`: decides a pending promotion. */
export async function decideCommand(call: ApiCall, verb: 'approve' | 'reject', args: string[], io: CliIo): Promise<number> {
  const id = args[0];
  if (!id || id.startsWith('--')) throw new CliUsageError(`${verb} needs a promotion request id; \`npm run cli -- promotions --pending\` lists them`);
  const reason = requiredReason(args, verb);
  const model = option(args, 'model') ?? (await modelOfRequest(call, id));
  const p = await call<PromotionView>('POST', `/api/v1/models/${enc(model)}/promotions/${enc(id)}/${verb}`, { reason });
  io.result(p);
  io.text(describePromotion(p));
  return 0;
}

/** `promotions [--model NAME] [--pending]`: the requests of one model, or of every model the key may see. */
export async function promotionsCommand(call: ApiCall, args: string[], io: CliIo): Promise<number> {
  const model = option(args, 'model');
  const pending = args.includes('--pending');
  const promotions = (await listPromotions(call, model)).filter((p) => !pending || p.state === 'pending_approval');
  io.result({ promotions });
  if (promotions.length === 0) io.text(pending ? 'No promotion awaits approval.' : 'No promotion requests.');
  for (const p of promotions)
    io.text(
      `${p.id}  ${p.created_at}  ${p.model_name} v${p.version} → ${p.target_stage.padEnd(10)}  ${p.state.padEnd(16)}  by ${p.requested_by}  ${p.gates_passed ? 'gates passed' : 'gates FAILED'}  ${p.reason}`,
    );
  return 0;
}

async function listPromotions(call: ApiCall, model: string | undefined): Promise<PromotionView[]> {
  const names = model ? [model] : (await call<{ models: { name: string }[] }>('GET', '/api/v1/models')).models.map((m) => m.name);
  const lists = await Promise.all(names.map((n) => call<PromotionView[]>('GET', `/api/v1/models/${enc(n)}/promotions`)));
  return lists.flat().sort((a, b) => b.created_at.localeCompare(a.created_at));
}

/** The decision endpoints are per model: find the model whose requests hold this id. */
async function modelOfRequest(call: ApiCall, id: string): Promise<string> {
  const found = (await listPromotions(call, undefined)).find((p) => p.id === id);
  if (!found)
    throw new CliError(
      `no promotion request with id ${id} among the models this key may see`,
      'NOT_FOUND',
      1,
      'List the requests with `npm run cli -- promotions --pending`, or name the model with --model.',
    );
  return found.model_name;
}

function requiredReason(args: string[], verb: string): string {
  const reason = option(args, 'reason');
  if (!reason || reason.trim().length < 3) throw new CliUsageError(`${verb} needs --reason "<why>" (at least 3 characters; it is recorded in the audit trail)`);
  return reason;
}
