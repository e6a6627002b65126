import { SignatureInput } from '../../serving/model-signature';

/** Rows of one chunk, as records the model's validator checks (numbers parsed, empty cells absent). */
export interface SourceChunk {
  rows: Record<string, unknown>[];
  /** Keyset position after this chunk (table sources); null for files. */
  lastCustomerId: string | null;
}

/** Where a run resumes: after `chunks` committed chunks, or after the keyset position. */
export interface ResumePoint {
  chunks: number;
  lastCustomerId: string | null;
}

/**
 * A customer table read in fixed-size chunks, never as a whole. Chunking must be deterministic: a
 * resumed run skips exactly what was committed.
 */
export interface ChunkSource {
  /** Data rows in the source (an exact count; cheap next to scoring). */
  count(): Promise<number>;
  chunks(from: ResumePoint, chunkRows: number): AsyncGenerator<SourceChunk>;
}

/** Turns a raw cell into what the validator expects for the input's type; bad numbers stay strings so that the validator names them. */
export function convertCell(input: Pick<SignatureInput, 'type'> | undefined, raw: unknown): unknown {
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (!input || input.type === 'string') return typeof raw === 'string' ? raw : String(raw);
  if (typeof raw === 'number') return raw;
  const n = Number(raw);
  return Number.isNaN(n) || (typeof raw === 'string' && raw.trim() === '') ? raw : n;
}

/**
 * Reads chunk k+1 while chunk k is scored and written: at most two chunks in memory.
 */
export async function* prefetch<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      next = source.next();
      yield current.value;
    }
  } finally {
    // Let a pending read settle before closing the source (an abandoned read would otherwise reject unobserved).
    await next.catch(() => undefined);
    await source.return(undefined);
  }
}
