type Labels = Record<string, string | number>;

/** A prom-client Counter/Gauge stand-in that keeps its values per label set, so a test can read what a service exported. */
export class FakeMetric {
  private readonly values = new Map<string, number>();

  inc(labels: Labels = {}, by = 1): void {
    const key = FakeMetric.key(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  set(labels: Labels, value: number): void {
    this.values.set(FakeMetric.key(labels), value);
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
