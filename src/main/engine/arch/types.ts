// What every backend (GPU forward passes, CPU reference) offers the generation loop and the CLI:
// run n tokens at the cache's position, read back only what was asked for.
import type { ModelConfig } from '../../../shared/arch/config';
import type { CounterSnapshot } from '../instrument/counters';
import type { KvReport } from '../kv/layout';
import type { SamplingParams } from '../generate/sampling';

export type BackendKind = 'gpu' | 'cpu';
export type WeightDtype = 'f16' | 'f32';

/** Sample the next token from the last position's logits, on the backend (one 4-byte read on the GPU). */
export interface SampleRequest {
  params: SamplingParams;
  seed: number; // u32 for this token, from the seeded stream (generate/sampling.ts Rng)
  seen: readonly number[]; // ids the repetition penalty applies to
}

export interface ForwardRequest {
  ids: number[];
  /** Which logits rows to read back: none, the last position's, or every position's. */
  logits: 'none' | 'last' | 'all';
  sample?: SampleRequest;
  /** Names of taps to read back, e.g. 'attn_out.3' (see arch/taps.ts). */
  taps?: string[];
  /** Capture the softmax probabilities of every layer (per head; GTA: per shared-map group). */
  attentionProbs?: boolean;
}

/** Softmax probabilities of one layer: [heads, n, t] where t = position after the call. */
export interface AttentionMap {
  layer: number;
  heads: number; // heads, or GTA's query groups (maps shared by numHeads / heads heads each)
  n: number; // query rows (tokens of this call)
  t: number; // key columns (tokens in the cache)
  pos0: number;
  probs: Float32Array;
}

export interface ForwardResult {
  logits: Float32Array[]; // rows, as requested
  token: number | null; // the sampled id when sample was given
  taps: Record<string, Float32Array>;
  attention: AttentionMap[];
}

export interface InferenceBackend {
  readonly kind: BackendKind;
  readonly config: ModelConfig;
  readonly dtype: WeightDtype;
  /** Tokens the cache can hold. */
  readonly nCtx: number;
  /** Tokens cached so far. */
  readonly position: number;
  /** A short description of where it runs, e.g. "nvidia / NVIDIA H100 (vulkan)" or "cpu reference". */
  readonly device: string;
  forward(req: ForwardRequest): Promise<ForwardResult>;
  /**
   * Pipelined decode: one step fed with the id the previous call sampled, still on the device, sampling
   * the next. The step is submitted before this returns, so the caller can record the following step
   * while this one runs. Not with a repetition penalty (the penalised ids would lag a token). Optional:
   * backends without it are driven step by step through forward().
   */
  decodeChained?(sample: SampleRequest): { token: Promise<number> };
  /** Forget cached tokens from `length` on (a speculative step past the end of a generation). */
  truncate(length: number): void;
  /** Forget the cached tokens (keeps allocations). */
  reset(): void;
  kvReport(): KvReport;
  /** Work recorded since the backend was made (FLOPs and bytes per op kind). */
  counters(): CounterSnapshot;
  dispose(): void;
}
