import { CanaryEntity } from './canary.entity';
import { CanaryWindow } from './canary-window';
import { inCanaryShare } from './traffic-split';
import { OnnxModel } from '../onnx-model';

// Comparison scorings run after the response is sent; past this many at once they are skipped
// (and counted as not compared) rather than queued without bound behind a slow challenger.
const MAX_PENDING_COMPARISONS = 256;

/** The challenger attached on this replica: its session, its traffic rule and its live statistics. */
export class LiveCanary {
  readonly window: CanaryWindow;
  private pending = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly record: CanaryEntity,
    readonly model: OnnxModel,
  ) {
    this.window = new CanaryWindow(record.policy.window_seconds);
  }

  get id(): string {
    return this.record.id;
  }

  /** True when this customer's requests are answered by the challenger (canary mode only). */
  answersFor(customerId: string): boolean {
    return this.record.mode === 'canary' && inCanaryShare(this.record.id, customerId, this.record.trafficPercent);
  }

  /** True when the challenger should also score this champion-answered request (shadow mode). */
  shadows(customerId: string): boolean {
    return this.record.mode === 'shadow' && inCanaryShare(this.record.id, customerId, this.record.trafficPercent);
  }

  tryBeginComparison(): boolean {
    if (this.pending >= MAX_PENDING_COMPARISONS) return false;
    this.pending++;
    return true;
  }

  endComparison(): void {
    this.pending--;
    if (this.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once no comparison is running (used before the session is released). */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
