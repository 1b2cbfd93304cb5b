// The GPU backend: the decoder stack shared by every family (embedding, pre-norm blocks with the
// residual add fused into the next RMSNorm, final norm, head, sampler), the family's attention block,
// the variant's KV cache. A prompt runs in chunks of up to `chunk` rows (matmul path); a decode step
// is one row (GEMV and split-K attention) recorded into ONE submission that reads back 4 bytes: the
// sampled id.
import type { ModelConfig } from '../../../shared/arch/config';
import { CancelledError, InvalidRequestError } from '../../../shared/errors';
import type { GpuRuntime } from '../gpu/runtime';
import { OpCounters, type CounterSnapshot } from '../instrument/counters';
import { GpuKvCache } from '../kv/cache';
import { kvShapeOf, type KvReport } from '../kv/layout';
import * as argmaxOp from '../ops/argmax';
import * as sampleOp from '../ops/sample';
import { fromPairOrder, pairOrderTensors } from '../weights/rope_pairs';
import { destroyWeights, type GpuWeights } from '../weights/upload';
import { decodeScratchBytes, embed, linear, mlp, norm } from './blocks';
import type { Family } from './family';
import { gta } from './gta';
import { llama } from './llama';
import { mla } from './mla';
import { Pass, type MapsProbe, type TapSink } from './pass';
import { DecodeReplay } from './replay';
import { Scratch } from './scratch';
import type { AttentionMap, ForwardRequest, ForwardResult, InferenceBackend, SampleRequest, WeightDtype } from './types';

const MAX_CHUNK = 2048;

function familyOf(c: ModelConfig): Family {
  return (c.family === 'llama' ? llama : c.family === 'mla' ? mla : gta) as Family;
}

export interface GpuBackendOptions {
  nCtx: number;
  device: string;
  /** The weights belong to another backend too (a profiling twin): dispose leaves them. */
  sharedWeights?: boolean;
  /** Most rows recorded per prefill chunk (default 2048; lower bounds activation memory). */
  maxChunk?: number;
  /** Tests: record every replayed decode step as well and throw where the replay differs. */
  verifyReplay?: boolean;
}

/** A prefill recorded with an attention probe and per-chunk hooks (engine/analysis). */
export interface ProbeRun {
  maps: MapsProbe | null;
  /** Most rows per chunk (what the probe's buffers hold); the backend's chunk and the logits bound it too. */
  maxRows?: number;
  /** Every row's logits into the scratch 'logits' [m, vocab] f32 of each chunk. */
  logits?: boolean;
  /** Recorded after the chunk's stack (and head), in its batch; `logits` is the scratch when computed. */
  record?(p: Pass, s: number, m: number, logits: GPUBuffer | null): void;
  /** After the chunk was submitted (may read back). */
  done?(s: number, m: number): Promise<void>;
  /** Checked before every chunk: CancelledError. */
  signal?: AbortSignal;
}

function sameSampling(a: SampleRequest['params'], b: SampleRequest['params'] | null): boolean {
  return !!b && a.greedy === b.greedy && a.temperature === b.temperature && a.topK === b.topK && a.topP === b.topP && a.repetitionPenalty === b.repetitionPenalty;
}

export class GpuBackend implements InferenceBackend {
  readonly kind = 'gpu' as const;
  readonly dtype: WeightDtype;
  readonly nCtx: number;
  readonly device: string;
  private readonly kv: GpuKvCache;
  private readonly scratch: Scratch;
  private readonly ops = new OpCounters();
  private readonly family: Family;
  private readonly ids: GPUBuffer; // [chunk] u32 token ids of the current chunk
  private readonly token: GPUBuffer; // [1] u32 the sampled id
  private readonly seen: GPUBuffer; // [nCtx] u32 ids the repetition penalty applies to
  /** Rows per recorded chunk, bounded by the widest activation and the binding limit. */
  readonly chunk: number;
  private reservedRows = 0;
  private reservedLogitRows = 0;
  private readonly sharedWeights: boolean;
  private readonly replay: DecodeReplay;
  private replayParams: SampleRequest['params'] | null = null; // sampling settings the replay was recorded with

  constructor(
    readonly rt: GpuRuntime,
    readonly config: ModelConfig,
    private readonly weights: GpuWeights,
    o: GpuBackendOptions,
  ) {
    this.dtype = weights.dtype;
    this.nCtx = o.nCtx;
    this.device = o.device;
    this.sharedWeights = o.sharedWeights ?? false;
    this.replay = new DecodeReplay(rt, this.ops, o.verifyReplay ?? false);
    this.family = familyOf(config);
    this.kv = new GpuKvCache(rt, kvShapeOf(config), weights.dtype, o.nCtx);
    this.scratch = new Scratch(rt);
    const widest = Math.max(2 * config.intermediateSize, config.hiddenSize, ...Object.values(this.family.rowBuffers(config)));
    this.chunk = Math.max(1, Math.min(o.maxChunk ?? MAX_CHUNK, Math.floor(rt.device.limits.maxStorageBufferBindingSize / (widest * 4))));
    this.ids = rt.buffer(this.chunk * 4, 'ids'); // [chunk] u32
    this.token = rt.buffer(4, 'token'); // [1] u32
    this.seen = rt.buffer(o.nCtx * 4, 'penalised-ids'); // [nCtx] u32
    const m = this.family.maps(config);
    this.scratch.reserve('attn_split', decodeScratchBytes(m.heads, m.dv));
  }

  get position(): number {
    return this.kv.length;
  }

  private reserve(rows: number, logitRows: number): void {
    const c = this.config;
    if (rows > this.reservedRows) {
      const perRow: Record<string, number> = {
        h: c.hiddenSize, xn: c.hiddenSize, delta: c.hiddenSize, ff_up: c.intermediateSize * (c.mlp === 'swiglu' ? 2 : 1), ff_act: c.intermediateSize,
        ...this.family.rowBuffers(c),
      };
      for (const [name, width] of Object.entries(perRow)) this.scratch.reserve(name, rows * width * 4);
      this.reservedRows = rows;
    }
    if (logitRows > this.reservedLogitRows) {
      this.scratch.reserve('logits', logitRows * c.vocabSize * 4); // [logitRows, vocab] f32
      this.reservedLogitRows = logitRows;
    }
  }

  private checkIds(ids: number[]): void {
    if (ids.length === 0) throw new InvalidRequestError('forward needs at least one token id');
    const V = this.config.vocabSize;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= V);
    if (bad !== undefined) throw new InvalidRequestError(`token id ${bad} is outside the vocabulary [0, ${V.toLocaleString('en-US')}) of this model`);
    this.kv.ensureRoom(ids.length);
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    this.replay.invalidate();
    this.checkIds(req.ids);
    const c = this.config;
    const V = c.vocabSize;
    const n = req.ids.length;
    const all = req.logits === 'all';
    const logitChunk = Math.max(1, Math.floor(this.rt.device.limits.maxStorageBufferBindingSize / (V * 4)));
    const chunk = all ? Math.min(this.chunk, logitChunk) : this.chunk;
    const probs = req.attentionProbs ? this.probBuffers(n, chunk) : null;
    const taps: TapSink | null = req.taps?.length ? { wanted: new Set(req.taps), bufs: new Map(), totalRows: n } : null;
    const finalAll = all || !!taps?.wanted.has('final_norm');
    this.reserve(Math.min(n, chunk), all ? Math.min(n, chunk) : 1);
    const pos0 = this.kv.length;
    const logits: Float32Array[] = [];

    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const last = s + m === n;
      this.rt.write(this.ids, Uint32Array.from(req.ids.slice(s, s + m)));
      const p = new Pass(this.rt, c, this.weights, this.kv, this.scratch, this.ops, m, pos0 + s, s, taps, probs ? { probs: (L) => probs[L] } : null);
      this.recordStack(p);
      const needHead = all || (last && (req.logits === 'last' || !!req.sample));
      if (finalAll || needHead) this.recordHead(p, finalAll, all);
      this.kv.length += m;
      if (all) {
        const rows = new Float32Array(await this.rt.read(this.scratch.get('logits'), m * V * 4));
        for (let i = 0; i < m; i++) logits.push(rows.slice(i * V, (i + 1) * V));
      } else {
        this.rt.submit();
      }
    }
    // The last row's logits sit at row 0 unless every row was computed.
    const lastOffset = all ? ((n - 1) % chunk) * V : 0;
    let token: number | null = null;
    if (req.sample) {
      this.recordSample(req.sample, lastOffset);
      token = new Uint32Array(await this.rt.read(this.token, 4))[0];
    }
    if (req.logits === 'last') logits.push(new Float32Array(await this.rt.read(this.scratch.get('logits'), V * 4, lastOffset * 4)));
    return { logits, token, taps: await this.readTaps(taps), attention: await this.readMaps(probs, n, pos0) };
  }

  /** Rows per chunk of probeForward with these options. */
  probeChunk(o: { logits?: boolean; maxRows?: number }): number {
    const logitChunk = Math.max(1, Math.floor(this.rt.device.limits.maxStorageBufferBindingSize / (this.config.vocabSize * 4)));
    return Math.max(1, Math.min(this.chunk, o.logits ? logitChunk : this.chunk, o.maxRows ?? this.chunk));
  }

  /** Attention maps per layer (heads; GTA: query groups) and the attention output width per map. */
  get maps(): { heads: number; dv: number } {
    return this.family.maps(this.config);
  }

  /**
   * Prefill `ids` at the cache's position in chunks of probeChunk(run) rows with run.maps as the
   * attention probe, run.record after each chunk's stack (and head when run.logits) and run.done once
   * the chunk is submitted. Reads nothing back itself.
   */
  async probeForward(ids: number[], run: ProbeRun): Promise<void> {
    this.replay.invalidate();
    this.checkIds(ids);
    const n = ids.length;
    const chunk = this.probeChunk(run);
    this.reserve(Math.min(n, chunk), run.logits ? Math.min(n, chunk) : 1);
    const pos0 = this.kv.length;
    for (let s = 0; s < n; s += chunk) {
      if (run.signal?.aborted) throw new CancelledError('cancelled before the prompt was fully processed');
      const m = Math.min(chunk, n - s);
      this.rt.write(this.ids, Uint32Array.from(ids.slice(s, s + m)));
      const p = new Pass(this.rt, this.config, this.weights, this.kv, this.scratch, this.ops, m, pos0 + s, s, null, run.maps);
      this.recordStack(p);
      if (run.logits) this.recordHead(p, true, true);
      run.record?.(p, s, m, run.logits ? this.scratch.get('logits') : null);
      this.kv.length += m;
      this.rt.submit();
      await run.done?.(s, m);
    }
  }

  decodeChained(sample: SampleRequest): { token: Promise<number> } {
    if (sample.params.repetitionPenalty !== 1) throw new InvalidRequestError('a chained decode cannot apply a repetition penalty: use forward()');
    this.kv.ensureRoom(1);
    this.reserve(1, 1);
    const record = (): void => {
      const p = new Pass(this.rt, this.config, this.weights, this.kv, this.scratch, this.ops, 1, this.kv.length, 0, null, null);
      // The id the previous step sampled is still in `token`: the embedding reads it there.
      this.recordStack(p, this.token);
      this.recordHead(p, false, false);
      this.recordSample(sample, 0);
    };
    // Steps of one chain differ only in their position and seed (replay.ts); new sampling settings start over.
    if (!sameSampling(sample.params, this.replayParams)) {
      this.replay.invalidate();
      this.replayParams = { ...sample.params };
    }
    this.replay.step(this.kv.length + 1, sample.seed, record);
    this.kv.length += 1;
    // read() submits synchronously and only then waits: the step is queued when this returns.
    return { token: this.rt.read(this.token, 4).then((b) => new Uint32Array(b)[0]) };
  }

  /**
   * Embedding and every layer of one chunk; leaves the last MLP output in `delta` (not yet added to h),
   * except on a fused step (Pass.fused), where every block adds its output to h itself.
   */
  private recordStack(p: Pass, ids: GPUBuffer = this.ids): void {
    const c = this.config;
    const [h, xn, delta] = [p.act('h'), p.act('xn'), p.act('delta')];
    embed(p, ids, h);
    if (p.fused) {
      // One token, no taps: each block's first GEMV normalises h as it reads it, and each block's last
      // GEMV adds its output to h (attention: qkv GEMV, rope_store, attention, o_proj += ; MLP: up GEMV, down += ).
      for (let L = 0; L < c.numLayers; L++) {
        this.family.attention(p, L, { buf: h, norm: `model.layers.${L}.input_layernorm.weight` }, h, true);
        mlp(p, L, { buf: h, norm: `model.layers.${L}.post_attention_layernorm.weight` }, h, true);
      }
      return;
    }
    norm(p, 'attn_norm', 'model.layers.0.input_layernorm.weight', h, xn);
    p.tap('attn_norm', 0, xn, c.hiddenSize);
    for (let L = 0; L < c.numLayers; L++) {
      this.family.attention(p, L, { buf: xn }, delta, false);
      norm(p, 'mlp_norm', `model.layers.${L}.post_attention_layernorm.weight`, h, xn, { delta });
      p.tap('mlp_norm', L, xn, c.hiddenSize);
      mlp(p, L, { buf: xn }, delta);
      if (L + 1 < c.numLayers) {
        norm(p, 'attn_norm', `model.layers.${L + 1}.input_layernorm.weight`, h, xn, { delta });
        p.tap('attn_norm', L + 1, xn, c.hiddenSize);
      }
    }
  }

  /** Final norm (every row, or only the last) and the head into `logits`. */
  private recordHead(p: Pass, normAll: boolean, headAll: boolean): void {
    const c = this.config;
    const [h, xn, delta, logits] = [p.act('h'), p.act('xn'), p.act('delta'), p.act('logits')];
    if (p.fused && !normAll && !headAll) {
      // h already holds the residual stream; the final norm runs inside the head's GEMV.
      linear(p, 'logits', 'lm_head', { buf: h, norm: 'model.norm.weight' }, { buf: logits }, c.hiddenSize, c.vocabSize, { rows: 1, noBias: true });
      return;
    }
    // A fused stack has already added every block's output to h.
    const pending = p.fused ? undefined : delta;
    if (normAll) {
      norm(p, 'final_norm', 'model.norm.weight', h, xn, { delta: pending });
      p.tap('final_norm', null, xn, c.hiddenSize);
    } else {
      norm(p, 'final_norm', 'model.norm.weight', h, xn, { delta: pending, rows: 1, rowOffset: p.n - 1 });
    }
    const rows = headAll ? p.n : 1;
    const from = normAll && !headAll ? (p.n - 1) * c.hiddenSize : 0;
    linear(p, 'logits', 'lm_head', { buf: xn, offset: from, stride: from + c.hiddenSize }, { buf: logits }, c.hiddenSize, c.vocabSize, { rows, noBias: true });
  }

  private recordSample(s: SampleRequest, offset: number): void {
    const V = this.config.vocabSize;
    const logits = this.scratch.get('logits');
    const q = s.params;
    if (q.greedy && q.repetitionPenalty === 1) {
      argmaxOp.argmax(this.rt, { logits, out: this.token, vocab: V, offset });
      this.ops.add('sample', argmaxOp.flops({ vocab: V }), argmaxOp.bytes({ vocab: V }));
      return;
    }
    const ids = q.repetitionPenalty === 1 ? [] : [...new Set(s.seen)].slice(-this.nCtx);
    if (ids.length > 0) this.rt.write(this.seen, Uint32Array.from(ids));
    sampleOp.sample(this.rt, {
      logits, out: this.token, vocab: V, offset, temperature: q.greedy ? 0 : q.temperature, topK: q.topK, topP: q.topP,
      repetitionPenalty: q.repetitionPenalty, penalised: this.seen, nPenalised: ids.length, seed: s.seed,
    });
    this.ops.add('sample', sampleOp.flops({ vocab: V }), sampleOp.bytes({ vocab: V }));
  }

  private probBuffers(n: number, chunk: number): GPUBuffer[] {
    if (n > chunk) {
      throw new InvalidRequestError(`attention maps are recorded for prompts of up to ${chunk.toLocaleString('en-US')} tokens on this GPU; this one has ${n.toLocaleString('en-US')}: shorten it`);
    }
    const { heads } = this.family.maps(this.config);
    const t = this.kv.length + n;
    const bytes = heads * n * t * 4; // [heads, n, t] f32 per layer
    const max = this.rt.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) throw new InvalidRequestError(`one layer's attention map for ${n.toLocaleString('en-US')} tokens needs ${bytes.toLocaleString('en-US')} bytes, more than this GPU binds: shorten the prompt`);
    return Array.from({ length: this.config.numLayers }, (_, L) => this.rt.buffer(bytes, `probs.${L}`));
  }

  private async readMaps(probs: GPUBuffer[] | null, n: number, pos0: number): Promise<AttentionMap[]> {
    if (!probs) return [];
    const { heads } = this.family.maps(this.config);
    const maps: AttentionMap[] = [];
    for (const [layer, b] of probs.entries()) {
      maps.push({ layer, heads, n, t: pos0 + n, pos0, probs: await this.rt.readF32(b, heads * n * (pos0 + n)) });
      b.destroy();
    }
    return maps;
  }

  private async readTaps(taps: TapSink | null): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    if (!taps) return out;
    const missing = [...taps.wanted].filter((n) => !taps.bufs.has(n));
    if (missing.length > 0) {
      for (const t of taps.bufs.values()) t.buf.destroy();
      throw new InvalidRequestError(`no tap named ${missing.map((m) => `"${m}"`).join(', ')} in this model's forward pass; taps are <what>.<layer> with what in embed, attn_norm, q, k, v, latent, gate, attn, v_up (MLA), v_decode (GTA), attn_out, mlp_norm, mlp_act, mlp_out, or final_norm`);
    }
    for (const [name, t] of taps.bufs) {
      let v = await this.rt.readF32(t.buf, taps.totalRows * t.width);
      // Queries and keys of pair-ordered weights come back in the checkpoint's dim order.
      const m = /^(q|k)\.(\d+)$/.exec(name);
      const pair = m && this.weights.pairOrder ? pairOrderTensors(this.config, Number(m[2]))[`model.layers.${m[2]}.self_attn.${m[1]}_proj.weight`] : undefined;
      if (pair) v = fromPairOrder(v, taps.totalRows, pair.heads, pair.dim);
      out[name] = v;
      t.buf.destroy();
    }
    return out;
  }

  /** Decode steps replayed rather than recorded (replay.ts). */
  get replayedSteps(): number {
    return this.replay.replayed;
  }

  reset(): void {
    this.replay.invalidate();
    this.kv.reset();
  }

  truncate(length: number): void {
    this.replay.invalidate();
    this.kv.length = Math.min(this.kv.length, length);
  }

  /**
   * Benchmarks: count the first `tokens` cache rows as filled without computing them (they read as
   * whatever they hold, zeros on a fresh cache). A decode step then moves exactly the bytes it would at
   * that context, without the minutes a long prefill takes on a slow adapter.
   */
  fastFill(tokens: number): void {
    this.replay.invalidate();
    this.kv.reset();
    this.kv.ensureRoom(tokens);
    this.kv.length = tokens;
  }

  kvReport(): KvReport {
    return this.kv.report();
  }

  counters(): CounterSnapshot {
    return this.ops.snapshot();
  }

  /** The uploaded weights, for a profiling twin on another runtime of the same device. */
  get weightsForTwin(): GpuWeights {
    return this.weights;
  }

  /** The cache's buffers, for tests that compare the compressed cache with an expanded one. */
  get cache(): GpuKvCache {
    return this.kv;
  }

  dispose(): void {
    this.kv.destroy();
    this.scratch.destroy();
    for (const b of [this.ids, this.token, this.seen]) b.destroy();
    if (!this.sharedWeights) destroyWeights(this.weights);
  }
}
