interface Pending<T> {
  row: T;
  resolve: (p: number) => void;
  reject: (err: unknown) => void;
}

/**
 * Dynamic micro-batching of single-row scoring: rows requested during one turn of the event loop
 * (e.g. the requests parsed from one poll of the sockets) are scored together in one ONNX run,
 * flushed by setImmediate — so a lone request waits for nothing — or as soon as `maxBatch` rows
 * are waiting. One run of N rows costs far less than N runs of one row.
 */
export class MicroBatcher<T> {
  private pending: Pending<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly scoreMany: (rows: T[]) => Promise<Float32Array>,
    private readonly maxBatch: number,
  ) {}

  score(row: T): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.scoreMany(batch.map((p) => p.row)).then(
      (scores) => {
        for (let i = 0; i < batch.length; i++) batch[i].resolve(scores[i]);
      },
      (err) => {
        for (const p of batch) p.reject(err);
      },
    );
  }
}
