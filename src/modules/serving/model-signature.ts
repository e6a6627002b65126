/** The sidecar files the reference trainer writes next to model.onnx (trainer/README.md). */
export interface SignatureInput {
  name: string;
  type: 'integer' | 'number' | 'string';
  onnx_type: 'float32' | 'string';
  minimum?: number;
  maximum?: number;
  exclusive_minimum?: number;
  categories?: string[];
}

export interface ModelSignature {
  format_version: number;
  model_name: string;
  inputs: SignatureInput[];
  outputs: { probabilities: string; positive_class_index: number; label?: string };
}

export interface TestVectors {
  format_version: number;
  tolerance: number;
  vectors: { input: Record<string, unknown>; probability: number }[];
}

export const SIDECAR_FILES = ['model.onnx', 'signature.json', 'test_vectors.json', 'reference_profile.json'] as const;

/** Strictest tolerance we accept, whatever a model's own test_vectors.json claims. */
export const MAX_TEST_VECTOR_TOLERANCE = 1e-5;

export function parseSignature(raw: unknown): ModelSignature {
  const s = raw as ModelSignature;
  if (s?.format_version !== 1 || !Array.isArray(s.inputs) || s.inputs.length === 0 || !s.outputs?.probabilities) {
    throw new Error('signature.json is not a format_version 1 signature with inputs and outputs.probabilities');
  }
  for (const i of s.inputs) {
    if (!i.name || !['integer', 'number', 'string'].includes(i.type)) throw new Error(`signature.json: input ${JSON.stringify(i)} is invalid`);
    if (i.type === 'string' && !(Array.isArray(i.categories) && i.categories.length > 0)) {
      throw new Error(`signature.json: categorical input ${i.name} lists no categories`);
    }
  }
  return s;
}

export function parseTestVectors(raw: unknown): TestVectors {
  const t = raw as TestVectors;
  if (t?.format_version !== 1 || !Array.isArray(t.vectors) || t.vectors.length === 0) {
    throw new Error('test_vectors.json has no vectors');
  }
  return t;
}
