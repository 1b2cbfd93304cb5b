// One recorded forward pass over a chunk of tokens: what every block needs (runtime, weights, cache,
// activation buffers, the chunk's rows and position), the op counters, and the named taps.
//
// Tap names are `<what>.<layer>` (or just `<what>` outside the layers): embed, attn_norm, q (after
// RoPE), k, v, latent, gate (GTA's raw g_proj), attn (attention output over the cache: per head, MLA per
// head over the latent), v_up (MLA per-head values), v_decode (GTA decoded and gated values), attn_out
// (the block's output, added to the residual), mlp_norm, mlp_act, mlp_out, final_norm. The same names key the op counters
// (without the layer), so a byte count, a tap and a reference diff line up.
import type { ModelConfig } from '../../../shared/arch/config';
import type { GpuRuntime } from '../gpu/runtime';
import type { OpCounters } from '../instrument/counters';
import type { GpuKvCache } from '../kv/cache';
import type { CacheView } from '../ops/attn_common';
import { weight, type GpuWeights } from '../weights/upload';
import type { Scratch } from './scratch';

export interface TapSink {
  /** Requested names → buffers holding rows of every chunk, [rows, width] f32. */
  wanted: Set<string>;
  bufs: Map<string, { buf: GPUBuffer; width: number }>;
  totalRows: number;
}

/** What attend() hands a probe right after layer L's attention was recorded. */
export interface AttendIo {
  probs: GPUBuffer | undefined; // [hq, n, pos0+n] f32 when the probe asked for this layer's probabilities
  v: GPUBuffer; // the value cache (array<u32> in the cache's element format)
  out: GPUBuffer; // [n, hq, dv] f32 attention output, as attend() wrote it
  hq: number; // query heads (= maps: GTA's query groups)
  hv: number; // value heads (MLA absorbed: 1, the latent)
  dv: number; // value width
  vView?: CacheView; // where a value head sits in a cache row
  kv: 'f16' | 'f32';
}

/**
 * A per-layer attention probe (analysis): which layers tap their softmax probabilities, into which
 * buffer (one reused buffer is fine: the dispatches recorded by `after` run before the next layer's
 * attention overwrites it), and what to record right after each layer's attention.
 */
export interface MapsProbe {
  /** The [maps, n, pos0+n] f32 buffer layer L writes its probabilities into, or undefined: no tap there. */
  probs(L: number, p: Pass): GPUBuffer | undefined;
  /** Recorded right after layer L's attention, in the same batch (reductions, the shared-map override). */
  after?(L: number, p: Pass, io: AttendIo): void;
}

export class Pass {
  constructor(
    readonly rt: GpuRuntime,
    readonly c: ModelConfig,
    readonly w: GpuWeights,
    readonly kv: GpuKvCache,
    private readonly scratch: Scratch,
    private readonly counters: OpCounters,
    readonly n: number, // rows in this chunk
    readonly pos0: number, // position of its first row
    private readonly rowBase: number, // index of its first row among the call's rows (for taps)
    private readonly taps: TapSink | null,
    /** The attention probe when maps are recorded or reduced (attentionProbs, analysis). */
    readonly probe: MapsProbe | null,
  ) {}

  /** Some probe is on (mla.ts then keeps the absorbed path, the one with the probability tap). */
  get probs(): MapsProbe | null {
    return this.probe;
  }

  get wF16(): boolean {
    return this.w.dtype === 'f16';
  }

  get kvFormat(): 'f16' | 'f32' {
    return this.kv.dtype === 'f16' ? 'f16' : 'f32';
  }

  /** A decode step: one row, GEMV and split-K attention. */
  get decode(): boolean {
    return this.n === 1;
  }

  /**
   * A decode step with no instrumentation: the RMSNorms run inside the GEMVs that read them and the
   * residual adds inside the output projections (no norm dispatches between blocks).
   */
  get fused(): boolean {
    return this.n === 1 && this.taps === null && this.probe === null;
  }

  /** Some tap was asked for: every intermediate the taps name must then be materialised. */
  get tapping(): boolean {
    return this.taps !== null;
  }

  act(name: string): GPUBuffer {
    return this.scratch.get(name);
  }

  weight(name: string): GPUBuffer {
    return weight(this.w, name);
  }

  layerWeight(L: number, rest: string): GPUBuffer {
    return weight(this.w, `model.layers.${L}.${rest}`);
  }

  layerOpt(L: number, rest: string): GPUBuffer | undefined {
    return this.w.tensors.get(`model.layers.${L}.${rest}`);
  }

  count(role: string, flops: number, bytes: number): void {
    this.counters.add(role, flops, bytes);
  }

  /**
   * Copy this chunk's rows of `buf` into tap `what.layer` if it was asked for: `width` f32 per row, rows
   * `stride` apart from element `offset` (a slice of a fused projection's output).
   */
  tap(what: string, layer: number | null, buf: GPUBuffer, width: number, stride = width, offset = 0): void {
    if (!this.taps) return;
    const name = layer === null ? what : `${what}.${layer}`;
    if (!this.taps.wanted.has(name)) return;
    let t = this.taps.bufs.get(name);
    if (!t) {
      t = { buf: this.rt.buffer(this.taps.totalRows * width * 4, `tap.${name}`), width };
      this.taps.bufs.set(name, t);
    }
    if (stride === width && offset === 0) {
      this.rt.copy(buf, 0, t.buf, this.rowBase * width * 4, this.n * width * 4);
      return;
    }
    for (let r = 0; r < this.n; r++) this.rt.copy(buf, (r * stride + offset) * 4, t.buf, (this.rowBase + r) * width * 4, width * 4);
  }
}
