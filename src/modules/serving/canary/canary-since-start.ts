import { LoggedVariant, PredictionQueries } from '../../prediction-log/prediction-queries';
import { CanaryEntity } from './canary.entity';

export interface CanarySinceStart {
  from: string;
  to: string | null;
  champion: LoggedVariant;
  challenger: LoggedVariant;
  agreement: { compared: number; same_decision: number; agreement_rate: number | null; mean_abs_diff: number | null };
}

/**
 * The comparison over every replica since the canary started, from the prediction log (written
 * asynchronously, so it trails live traffic by up to a second).
 */
export async function canarySinceStart(predictions: PredictionQueries, canary: CanaryEntity, threshold: number): Promise<CanarySinceStart> {
  const stats = await predictions.variantStatsSince({
    modelName: canary.modelName,
    challengerVersion: canary.challengerVersion,
    from: canary.startedAt,
    to: canary.endedAt,
    threshold,
  });
  return { from: canary.startedAt.toISOString(), to: canary.endedAt?.toISOString() ?? null, ...stats };
}
