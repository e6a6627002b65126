type Labels = Record<string, string | number>;

/**
 * A prom-client Counter/Gauge stand-in that keeps its values per label set, so a test can read what a service exported.
 * Takes both call forms: inc(5) / set(3) and inc({ labels }, 5) / set({ labels }, 3).
 */
export class FakeMetric {
  private readonly values = new Map<string, number>();

  inc(labelsOrValue: Labels | number = {}, value = 1): void {
    const [labels, by] = typeof labelsOrValue === 'number' ? [{}, labelsOrValue] : [labelsOrValue, value];
    const key = FakeMetric.key(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  set(labelsOrValue: Labels | number, value?: number): void {
    if (typeof labelsOrValue === 'number') this.values.set(FakeMetric.key({}), labelsOrValue);
    else this.values.set(FakeMetric.key(labelsOrValue), value ?? 0);
  }

  remove(labels: Labels): void {
    this.values.delete(FakeMetric.key(labels));
  }

  reset(): void {
    this.values.clear();
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(FakeMetric.key(labels));
  }

  private static key(labels: Labels): string {
    return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  }
}
