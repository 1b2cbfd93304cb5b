// The engine's public API: open a checkpoint on a backend, then run logits, stream or collect
// generations, read attention maps and taps, and ask the KV cache what it holds.
//
//   const engine = await openEngine('models/plm-1.8b', { backend: 'gpu', dtype: 'f16' });
//   for await (const t of engine.stream(engine.encode('Hello'), { maxTokens: 32, sampling: GREEDY })) …
import type { ModelConfig } from '../../shared/arch/config';
import { InvalidRequestError } from '../../shared/errors';
import type { AttentionMap, InferenceBackend } from './arch/types';
import { openBackend, type BackendOptions } from './backend';
import { generate, generateStream, type GeneratedToken, type GenerateOptions, type GenerationResult } from './generate/generate';
import type { KvReport } from './kv/layout';
import type { CheckpointInfo } from './model/loader';
import { loadTokenizer, type TextTokenizer } from './tokenizer';

export type { AttentionMap, BackendKind, InferenceBackend, WeightDtype } from './arch/types';
export type { BackendOptions } from './backend';
export type { GeneratedToken, GenerateOptions, GenerationResult, GenerationStats, StopReason } from './generate/generate';
export { GREEDY, samplingParams, type SamplingParams } from './generate/sampling';
export type { KvReport } from './kv/layout';
export type { CounterSnapshot } from './instrument/counters';

// ---- The front door: everything services, the CLI and tools use from the engine is exported here
// (lint forbids deep imports into engine/ from outside it). Kernel checks and micro-benchmarks in
// tools/bench use the one other entry, engine/kernels.ts.
export { openBackend, defaultRuntime, type OpenedBackend } from './backend';
export { GpuBackend } from './arch/gpu';
export type { ForwardRequest, ForwardResult, SampleRequest } from './arch/types';
export { GpuRuntime } from './gpu/runtime';
export { probeAdapter, requestAdapter, describeAdapter, createDevice } from './gpu/device';
export { runBench, type BenchOptions, type BenchResult, type DecodeFigure, type PrefillFigure } from './instrument/bench';
export { diffCounters, type OpCount } from './instrument/counters';
export { kvLayout, kvShapeOf, type KvLayout, type KvShape, type KvPartBytes } from './kv/layout';
export { inspectCheckpoint, loadWeights, nonFiniteError, scanNonFinite, type CheckpointInfo } from './model/loader';
export { openSafetensors, readSafetensorsHeader, type SafetensorsSet, type SafetensorsFile, type TensorInfo } from './model/safetensors';
export { loadTokenizer, TextTokenizer, type TokenizerLoad } from './tokenizer';
export { perplexity, tokenNll, windowStarts, encodeDocumentStream, splitDocuments, type LogitsSource, type PerplexityOptions, type PerplexityResult, type WindowScheme } from './eval';
export { ENGINE_VERSION } from './version';
export { uploadCheckpoint, destroyWeights, type GpuWeights } from './weights/upload';
export { randomWeights } from './weights/random';
export { fusedGroups, type FusedGroup } from './weights/fuse';
export { f16ToF32Array } from './ops/convert';
export {
  reduceAttention, attentionOfLayer, sharedMapNll, cacheGrams,
  type AttentionReduceOptions, type AttentionReduction, type LayerReduction, type MapShare, type GramRequest, type PartGram,
} from './analysis';

export interface Engine {
  readonly dir: string;
  readonly info: CheckpointInfo;
  readonly config: ModelConfig;
  readonly backend: InferenceBackend;
  /** null when the folder has no tokenizer.json (then prompts are token ids); `tokenizerReason` says why. */
  readonly tokenizer: TextTokenizer | null;
  readonly tokenizerReason: string | null;
  /** Why 'auto' ran on the CPU. */
  readonly fallback: string | null;
  /** Ids that end a generation by default: the checkpoint's eos and the tokenizer's end-of-turn tokens. */
  readonly stopTokens: number[];
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Logits of every position of `ids`, from an empty cache: [ids.length][vocab]. */
  logits(ids: number[]): Promise<Float32Array[]>;
  stream(prompt: number[], opts: GenerateOptions): AsyncGenerator<GeneratedToken, GenerationResult>;
  generate(prompt: number[], opts: GenerateOptions, onToken?: (t: GeneratedToken) => void): Promise<GenerationResult>;
  /** Softmax probabilities of every layer over a prompt's prefill (GPU backend). */
  attention(ids: number[]): Promise<AttentionMap[]>;
  /** Named intermediate tensors of a prefill of `ids`, e.g. ['attn_norm.0', 'mlp_out.3'] (GPU backend). */
  taps(ids: number[], names: string[]): Promise<Record<string, Float32Array>>;
  kvReport(): KvReport;
  dispose(): void;
}

export async function openEngine(dir: string, opts: BackendOptions = {}): Promise<Engine> {
  const { backend, info, fallback } = await openBackend(dir, opts);
  const tok = await loadTokenizer(dir, { eosTokenIds: info.eosTokenIds });
  const tokenizer = tok.tokenizer;
  const stopTokens = tokenizer ? tokenizer.stopTokenIds : info.eosTokenIds;
  const needTokenizer = (): TextTokenizer => {
    if (!tokenizer) throw new InvalidRequestError(`${tok.reason}`);
    return tokenizer;
  };
  const prefill = async (ids: number[], req: { logits?: 'all'; taps?: string[]; attentionProbs?: boolean }) => {
    if (ids.length === 0) throw new InvalidRequestError('no token ids given: pass at least one');
    backend.reset();
    if (ids.length > backend.nCtx) {
      throw new InvalidRequestError(`${ids.length.toLocaleString('en-US')} ids exceed the context of ${backend.nCtx.toLocaleString('en-US')}; pass fewer`);
    }
    return backend.forward({ ids, logits: req.logits ?? 'none', taps: req.taps, attentionProbs: req.attentionProbs });
  };
  return {
    dir,
    info,
    config: info.config,
    backend,
    tokenizer,
    tokenizerReason: tok.reason ?? null,
    fallback: fallback ?? null,
    stopTokens,
    encode: (text) => needTokenizer().encode(text),
    decode: (ids) => needTokenizer().decode(ids),
    logits: async (ids) => (await prefill(ids, { logits: 'all' })).logits,
    stream: (prompt, o) => generateStream(backend, prompt, o),
    generate: (prompt, o, onToken) => generate(backend, prompt, o, onToken),
    attention: async (ids) => (await prefill(ids, { attentionProbs: true })).attention,
    taps: async (ids, names) => (await prefill(ids, { taps: names })).taps,
    kvReport: () => backend.kvReport(),
    dispose: () => backend.dispose(),
  };
}
