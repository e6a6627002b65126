import { Injectable, OnModuleInit } from '@nestjs/common';
import { CanaryChangedEvent, StageChangedEvent } from '../events/event-map';
import { EventBus } from '../events/event-bus.service';
import { CanaryService } from './canary/canary.service';
import { ModelLoaderService } from './model-loader.service';

/**
 * What serving does when the change bus says the registry or a canary changed, on any replica
 * (this one included): the one handler of `stage.changed` and of `canary.changed`. The loader's and
 * the canary's polls remain the fallback for a notification that never arrives.
 */
@Injectable()
export class ServingChanges implements OnModuleInit {
  constructor(
    private readonly bus: EventBus,
    private readonly loader: ModelLoaderService,
    private readonly canaries: CanaryService,
  ) {}

  onModuleInit(): void {
    this.bus.subscribe('stage.changed', { handle: (e) => this.onStageChanged(e), catchUp: () => this.catchUp() });
    this.bus.subscribe('canary.changed', { handle: (e) => this.onCanaryChanged(e), catchUp: () => this.canaries.refresh() });
  }

  /** A new Production version is swapped in; a challenger that became Production ends its canary. */
  async onStageChanged(event: StageChangedEvent): Promise<void> {
    if (event.modelName !== this.loader.modelName || (event.to !== 'Production' && event.from !== 'Production')) return;
    await Promise.all([this.loader.refresh('notify'), this.canaries.refresh()]);
  }

  /** A challenger was started or ended on some replica: attach or detach it here. */
  async onCanaryChanged(event: CanaryChangedEvent): Promise<void> {
    if (event.modelName !== this.loader.modelName) return;
    await this.canaries.refresh();
  }

  /** After the listener reconnected: what the poll would do, now rather than at its next tick. */
  private async catchUp(): Promise<void> {
    await Promise.all([this.loader.refresh('reconnect'), this.canaries.refresh()]);
  }
}
