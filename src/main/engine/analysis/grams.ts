// KV compressibility's heavy part: the Gram matrix G = XᵀX [dim, dim] of each cached part's rows X
// [T, dim] (the forward's tap `${tap}.${layer}`), so the host only finds the eigenvalues of d×d
// matrices. GPU: a prefill with a probe that taps no probabilities (every layer stays on its plain path,
// MLA's first chunk expanded) and, right after each layer's attention is recorded, accumulates the
// chunk's rows into G with the analysis_gram kernel, reading them in place from the scratch that the tap
// would copy them from; only the d×d matrices come back. CPU: the float64 forward's tap hook, float64
// XᵀX (gramRef).
import type { GtaConfig, LlamaConfig, MlaConfig, ModelConfig } from '../../../shared/arch/config';
import { InvalidRequestError } from '../../../shared/errors';
import type { CpuBackend } from '../arch/cpu';
import type { GpuBackend } from '../arch/gpu';
import type { MapsProbe, Pass } from '../arch/pass';
import { recordAnalysisGram } from '../ops/analysis_gram';
import { fromPairOrder, pairOrderTensors } from '../weights/rope_pairs';
import { cancelled } from './gpu';
import { gramRef } from './reference';

export interface PartGram {
  layer: number;
  tap: string;
  rows: number;
  dim: number;
  gram: Float64Array; // [dim·dim] XᵀX, row-major, symmetric
}

export interface GramRequest {
  tap: string;
  layers: number[];
}

/**
 * Where a tap's rows sit in the pass's scratch while layer L's attention is recorded (the same slices
 * the families' p.tap calls copy: arch/llama.ts, arch/gta.ts, arch/mla.ts). `after`: the part is only
 * computed after the layer's attention (GTA's decoded values), so layer L's rows are read when layer
 * L + 1's attention is recorded, or after the stack for the last layer (the scratch is only written by
 * that family's attention block in between).
 */
interface TapSource {
  act: string;
  dim: number;
  stride: number;
  offset: number;
  after?: boolean;
}

function tapSources(c: ModelConfig): Record<string, TapSource> {
  if (c.family === 'llama') {
    const l = c as LlamaConfig;
    const d = l.headDim;
    const W = (l.numHeads + 2 * l.numKvHeads) * d;
    return {
      k: { act: 'qkv', dim: l.numKvHeads * d, stride: W, offset: l.numHeads * d },
      v: { act: 'qkv', dim: l.numKvHeads * d, stride: W, offset: (l.numHeads + l.numKvHeads) * d },
    };
  }
  if (c.family === 'mla') {
    const m = c as MlaConfig;
    return { latent: { act: 'latent', dim: m.kvLoraRank, stride: m.kvLoraRank, offset: 0 } };
  }
  const g = c as GtaConfig;
  const WG = g.numQueryHeads * g.queryDim + g.numKeyHeads * g.keyDim + g.numValueHeads * g.valueDim + g.hiddenSize;
  const q = g.numQueryHeads * g.queryDim;
  return {
    k: { act: 'qkcg', dim: g.numKeyHeads * g.keyDim, stride: WG, offset: q },
    latent: { act: 'qkcg', dim: g.numValueHeads * g.valueDim, stride: WG, offset: q + g.numKeyHeads * g.keyDim },
    v_decode: { act: 'decoded', dim: g.hiddenSize, stride: g.hiddenSize, offset: 0, after: true },
  };
}

/** Taps the CPU reference forward exposes through its tap hook (cpu/forward/*.ts). */
const CPU_TAPS = new Set(['k', 'v', 'latent']);

interface Item {
  tap: string;
  layer: number;
  dim: number;
}

/** The requested (tap, layer) parts in request order, validated against the model. */
export function gramItems(c: ModelConfig, taps: readonly GramRequest[]): Item[] {
  const src = tapSources(c);
  const items: Item[] = [];
  const seen = new Set<string>();
  for (const t of taps) {
    const s = src[t.tap];
    if (!s) {
      throw new InvalidRequestError(`"${t.tap}" is not a cached part of this ${c.family} model's forward; KV Gram matrices are taken of ${Object.keys(src).map((k) => `'${k}'`).join(', ')}`);
    }
    for (const L of t.layers) {
      if (!Number.isInteger(L) || L < 0 || L >= c.numLayers) throw new InvalidRequestError(`layer ${L} is not a layer of this model (0 .. ${c.numLayers - 1})`);
      const key = `${t.tap}.${L}`;
      if (seen.has(key)) throw new InvalidRequestError(`${key} is asked for twice`);
      seen.add(key);
      items.push({ tap: t.tap, layer: L, dim: s.dim });
    }
  }
  return items;
}

/** Most bytes of f32 Gram matrices held on the GPU during one forward (more parts: more forwards). */
const GRAM_BYTES_PER_FORWARD = 256 * 2 ** 20;

export async function gramsGpu(b: GpuBackend, ids: number[], items: Item[], signal?: AbortSignal): Promise<PartGram[]> {
  const rt = b.rt;
  const T = ids.length;
  const c = b.config;
  const src = tapSources(c);
  const out: PartGram[] = [];
  // Consecutive parts whose matrices fit the budget share a forward (at least one part each).
  const groups: Item[][] = [];
  let bytes = 0;
  for (const it of items) {
    const need = it.dim * it.dim * 4;
    if (groups.length === 0 || bytes + need > GRAM_BYTES_PER_FORWARD) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1].push(it);
    bytes += need;
  }
  for (const group of groups) {
    cancelled(signal);
    b.reset();
    const bufs = group.map((it) => rt.buffer(it.dim * it.dim * 4, `analysis-gram.${it.tap}.${it.layer}`));
    try {
      const record = (p: Pass, k: number): void => {
        const it = group[k];
        const s = src[it.tap];
        recordAnalysisGram(rt, { x: p.act(s.act), out: bufs[k] }, { n: p.n, dim: s.dim, stride: s.stride, offset: s.offset, accumulate: p.pos0 > 0 });
      };
      const byLayer = (L: number, after: boolean): number[] => group.flatMap((it, k) => (it.layer === L && !!src[it.tap].after === after ? [k] : []));
      const probe: MapsProbe = {
        probs: () => undefined,
        after(L: number, p: Pass) {
          for (const k of byLayer(L, false)) record(p, k);
          if (L > 0) for (const k of byLayer(L - 1, true)) record(p, k);
        },
      };
      await b.probeForward(ids, {
        maps: probe,
        signal,
        record: (p) => {
          for (const k of byLayer(c.numLayers - 1, true)) record(p, k);
        },
      });
      for (const [k, it] of group.entries()) {
        const g = await rt.readF32(bufs[k], it.dim * it.dim);
        out.push({ layer: it.layer, tap: it.tap, rows: T, dim: it.dim, gram: checkpointOrder(b, it, g) });
      }
    } finally {
      for (const g of bufs) g.destroy();
    }
  }
  return out;
}

/**
 * The Gram in the tap's column order as GpuBackend.readTaps returns it: keys of pair-ordered weights
 * (rope_pairs.ts) hold each head's dims in pair order on the GPU, so G is permuted back, G'[a][b] =
 * G[π(a)][π(b)]. (A symmetric permutation leaves the eigenvalues unchanged; it is undone anyway so that
 * the matrix is exactly XᵀX of the tap.)
 */
function checkpointOrder(b: GpuBackend, it: Item, g: Float32Array): Float64Array {
  const dim = it.dim;
  const pair = it.tap === 'k' && b.weightsForTwin.pairOrder ? pairOrderTensors(b.config, it.layer)[`model.layers.${it.layer}.self_attn.k_proj.weight`] : undefined;
  if (!pair) return Float64Array.from(g);
  // π as the tap's fix-up moves one row of column indices.
  const perm = fromPairOrder(Float32Array.from({ length: dim }, (_, i) => i), 1, pair.heads, pair.dim);
  const out = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++) {
    const ra = perm[a] * dim;
    for (let c = 0; c < dim; c++) out[a * dim + c] = g[ra + perm[c]];
  }
  return out;
}

export function gramsCpu(b: CpuBackend, ids: number[], items: Item[], signal?: AbortSignal): PartGram[] {
  const missing = [...new Set(items.filter((it) => !CPU_TAPS.has(it.tap)).map((it) => it.tap))];
  if (missing.length > 0) {
    throw new InvalidRequestError(`KV compressibility of ${missing.map((m) => `'${m}'`).join(', ')} needs the GPU backend: the CPU reference forward does not expose those rows`);
  }
  cancelled(signal);
  const T = ids.length;
  const want = new Map(items.map((it, k) => [`${it.tap}.${it.layer}`, k]));
  const grams: (Float64Array | null)[] = items.map(() => null);
  b.forwardHooked(ids, {
    tap(name, layer, data, width) {
      const k = want.get(`${name}.${layer}`);
      if (k === undefined) return;
      if (width !== items[k].dim) throw new Error(`cacheGrams: tap ${name}.${layer} is ${width} wide, expected ${items[k].dim}`);
      grams[k] = gramRef(data, T, width);
    },
  });
  return items.map((it, k) => {
    const g = grams[k];
    if (!g) throw new InvalidRequestError(`KV compressibility of '${it.tap}' needs the GPU backend: the CPU reference forward did not expose ${it.tap}.${it.layer}`);
    return { layer: it.layer, tap: it.tap, rows: T, dim: it.dim, gram: g };
  });
}
