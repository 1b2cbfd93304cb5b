// The analysis on the GPU backend: one prefill with an attention probe. Every layer taps its softmax
// probabilities into ONE reused buffer [maps, m, pos0+m] (m rows of the current chunk); the reductions
// are recorded right after that layer's attention in the same batch, so the buffer is consumed before
// the next layer overwrites it. Only the reduced results come back (stats, thumbnails, per-row
// similarity sums, optionally f16 full maps and cross-layer rows).
import { CancelledError, InvalidRequestError } from '../../../shared/errors';
import type { GpuBackend } from '../arch/gpu';
import type { AttendIo, MapsProbe, Pass } from '../arch/pass';
import type { AttentionMap } from '../arch/types';
import type { GpuRuntime } from '../gpu/runtime';
import { recordAnalysisNll } from '../ops/analysis_nll';
import { packedWidth, recordAnalysisPack } from '../ops/analysis_pack';
import { crossRows, recordAnalysisRows } from '../ops/analysis_rows';
import { mixTable, recordAnalysisShare, type ShareTarget } from '../ops/analysis_share';
import { pairTable, recordAnalysisSimilarity } from '../ops/analysis_similarity';
import { recordAnalysisStats, STATS, type ProbsChunk } from '../ops/analysis_stats';
import { recordAnalysisThumbs } from '../ops/analysis_thumbs';
import { finishSimilarity, finishStats } from './reference';
import type { AttentionReduceOptions, AttentionReduction, LayerReduction } from './types';

const MB = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

function bindLimit(rt: GpuRuntime): number {
  return rt.device.limits.maxStorageBufferBindingSize;
}

/** Rows per chunk such that a chunk's probabilities [maps, rows, ≤ T] f32 fit one binding. */
function probRows(b: GpuBackend, t: number, logits = false): number {
  const max = bindLimit(b.rt);
  const rowBytes = b.maps.heads * t * 4;
  const rows = Math.floor(max / rowBytes);
  if (rows < 1) {
    throw new InvalidRequestError(
      `one query row of every attention map of a layer needs ${MB(rowBytes)} for ${t.toLocaleString('en-US')} tokens, more than this GPU binds (${MB(max)}): shorten the text`,
    );
  }
  return b.probeChunk({ maxRows: rows, logits });
}

/** A chunk of the probe's buffer as the op descriptors see it. */
function chunkOf(p: Pass, maps: number): ProbsChunk {
  return { maps, n: p.n, pos0: p.pos0, width: p.pos0 + p.n };
}

function requireFits(rt: GpuRuntime, what: string, bytes: number, fix: string): void {
  const max = bindLimit(rt);
  if (bytes > max) throw new InvalidRequestError(`${what} needs ${MB(bytes)}, more than this GPU binds in one buffer (${MB(max)}): ${fix}`);
}

/** f16 [maps, T, TP] (TP even) → [maps, T, T]. */
function unpad(words: ArrayBuffer, maps: number, t: number): Uint16Array {
  const tp = packedWidth(t);
  const src = new Uint16Array(words);
  if (tp === t) return src;
  const out = new Uint16Array(maps * t * t);
  for (let r = 0; r < maps * t; r++) out.set(src.subarray(r * tp, r * tp + t), r * t);
  return out;
}

interface LayerBufs {
  stats: GPUBuffer; // [maps, T, 5] f32
  thumbs: GPUBuffer; // [maps, S, S] f32
  sim: GPUBuffer; // [T, pairs, 2] f32
  full: GPUBuffer | null; // [maps, T, TP] f16
}

export async function reduceGpu(b: GpuBackend, ids: number[], o: AttentionReduceOptions): Promise<AttentionReduction> {
  const rt = b.rt;
  const T = ids.length;
  const maps = b.maps.heads;
  const L = b.config.numLayers;
  const S = Math.min(o.thumbSide, T);
  const pairs = (maps * (maps + 1)) / 2;
  const chunk = probRows(b, T);
  requireFits(rt, `the similarity sums of one layer (${T} rows × ${pairs} pairs)`, T * pairs * 8, 'shorten the text');
  if (o.keepFull) requireFits(rt, "one layer's full maps in f16", maps * T * packedWidth(T) * 2, 'turn off keeping the full maps (thumbnails only) or shorten the text');

  // Cross-layer rows: R lowered until [L·maps, R, T] f32 and the [R, pairs, 2] sums fit one binding.
  const all = L * maps;
  const allPairs = (all * (all + 1)) / 2;
  const max = bindLimit(rt);
  const R = Math.min(o.crossLayerRows, T, Math.floor(max / (all * T * 4)), Math.floor(max / (allPairs * 8)));
  const rows = R > 0 ? crossRows(T, R) : [];

  const owned: GPUBuffer[] = [];
  const buf = (bytes: number, label: string): GPUBuffer => {
    const g = rt.buffer(bytes, label);
    owned.push(g);
    return g;
  };
  try {
    const probs = buf(maps * Math.min(chunk, T) * T * 4, 'analysis-probs'); // [maps, m, pos0+m] f32, reused
    const pairBuf = rt.upload(pairTable(maps), 'analysis-pairs');
    owned.push(pairBuf);
    const layers: LayerBufs[] = Array.from({ length: L }, (_, l) => ({
      stats: buf(maps * T * STATS * 4, `analysis-stats.${l}`),
      thumbs: buf(maps * S * S * 4, `analysis-thumbs.${l}`),
      sim: buf(T * pairs * 8, `analysis-sim.${l}`),
      full: o.keepFull ? buf(maps * T * packedWidth(T) * 2, `analysis-full.${l}`) : null,
    }));
    const cross = R > 0 ? buf(all * R * T * 4, 'analysis-cross') : null; // [L·maps, R, T] f32
    const rowPos = R > 0 ? rt.upload(Uint32Array.from(rows), 'analysis-rows') : null;
    if (rowPos) owned.push(rowPos);

    const probe: MapsProbe = {
      probs: () => probs,
      after(l: number, p: Pass) {
        const c = chunkOf(p, maps);
        const lb = layers[l];
        recordAnalysisStats(rt, { probs, out: lb.stats }, { ...c, total: T });
        recordAnalysisThumbs(rt, { probs, out: lb.thumbs }, { ...c, t: T, s: S, reduce: o.thumbReduce });
        recordAnalysisSimilarity(rt, { probs, pairs: pairBuf, out: lb.sim }, { maps, nRows: c.n, width: c.width, pos0: c.pos0, outRow0: c.pos0 });
        if (lb.full) recordAnalysisPack(rt, { probs, out: lb.full }, { ...c, t: T });
        if (cross && rowPos) recordAnalysisRows(rt, { probs, rowPos, out: cross }, { ...c, t: T, r: R, map0: l * maps, allMaps: all });
      },
    };
    const chunks = Math.ceil(T / chunk);
    const total = chunks + L + (R > 0 ? 1 : 0);
    let done = 0;
    const tick = (): void => o.onProgress?.(++done, total);
    await b.probeForward(ids, { maps: probe, maxRows: chunk, signal: o.signal, done: async () => tick() });

    const out: LayerReduction[] = [];
    for (let l = 0; l < L; l++) {
      cancelled(o.signal);
      const lb = layers[l];
      const stats = await rt.readF32(lb.stats, maps * T * STATS);
      const thumbs = await rt.readF32(lb.thumbs, maps * S * S);
      const sim = await rt.readF32(lb.sim, T * pairs * 2);
      const full = lb.full ? unpad(await rt.read(lb.full, maps * T * packedWidth(T) * 2), maps, T) : undefined;
      for (const g of [lb.stats, lb.thumbs, lb.sim, lb.full]) g?.destroy();
      out.push({ layer: l, stats: finishStats(stats, maps, T), ...finishSimilarity(sim, maps, T), thumbs, ...(full ? { full } : {}) });
      tick();
    }

    let global: AttentionReduction['global'] = null;
    if (cross && rowPos) {
      cancelled(o.signal);
      const allPairBuf = rt.upload(pairTable(all), 'analysis-pairs-all');
      owned.push(allPairBuf);
      const sums = buf(R * allPairs * 8, 'analysis-cross-sim'); // [R, allPairs, 2] f32
      recordAnalysisSimilarity(rt, { probs: cross, pairs: allPairBuf, rowPos, out: sums }, { maps: all, nRows: R, width: T, pos0: 0, outRow0: 0 });
      const got = await rt.readF32(sums, R * allPairs * 2);
      global = { rows, n: all, ...finishSimilarity(got, all, R) };
      tick();
    }
    return { tokens: T, maps, thumbSide: S, layers: out, global };
  } finally {
    for (const g of owned) g.destroy();
  }
}

export function cancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError('the analysis was cancelled');
}

/** Exact f32 probabilities [maps, T, T] of one layer; the other layers tap nothing. */
export async function layerGpu(b: GpuBackend, ids: number[], layer: number): Promise<AttentionMap> {
  const rt = b.rt;
  const T = ids.length;
  const maps = b.maps.heads;
  const chunk = probRows(b, T);
  const probs = rt.buffer(maps * Math.min(chunk, T) * T * 4, 'analysis-probs');
  const out = new Float32Array(maps * T * T);
  try {
    let pos0 = 0;
    await b.probeForward(ids, {
      maps: { probs: (l) => (l === layer ? probs : undefined) },
      maxRows: chunk,
      done: async (s, m) => {
        pos0 = s;
        const width = pos0 + m;
        const got = await rt.readF32(probs, maps * m * width);
        for (let h = 0; h < maps; h++) for (let r = 0; r < m; r++) out.set(got.subarray((h * m + r) * width, (h * m + r + 1) * width), (h * T + pos0 + r) * T);
      },
    });
  } finally {
    probs.destroy();
  }
  return { layer, heads: maps, n: T, t: T, pos0: 0, probs: out };
}

/** Sum of the next-token NLL (nats) over rows 0 .. T−2 with the shared-map override on the target layers. */
export async function sharedNllGpu(b: GpuBackend, ids: number[], targets: Map<number, ShareTarget[]>, signal?: AbortSignal): Promise<number> {
  const rt = b.rt;
  const T = ids.length;
  const maps = b.maps.heads;
  const active = new Map([...targets].filter(([, t]) => t.length > 0));
  // The same chunks with or without targets, so the baseline and every grouped run take the same path
  // in every layer and chunk (MLA: expanded on the first chunk, absorbed on later ones); only when one
  // row of probabilities cannot be bound does the baseline (which taps none) fall back to the plain chunk.
  let chunk: number;
  try {
    chunk = probRows(b, T, true);
  } catch (e) {
    if (active.size > 0) throw e;
    chunk = b.probeChunk({ logits: true });
  }
  const owned: GPUBuffer[] = [];
  try {
    const probs = rt.buffer(active.size > 0 ? maps * Math.min(chunk, T) * T * 4 : 16, 'analysis-probs');
    owned.push(probs);
    const mix = new Map<number, { buf: GPUBuffer; n: number }>();
    for (const [l, t] of active) {
      const g = rt.upload(mixTable(t, maps), `analysis-mix.${l}`);
      owned.push(g);
      mix.set(l, { buf: g, n: t.length });
    }
    const idsBuf = rt.upload(Uint32Array.from(ids), 'analysis-ids');
    const nll = rt.buffer(T * 4, 'analysis-nll'); // [T] f32
    owned.push(idsBuf, nll);
    const probe: MapsProbe = {
      probs: (l) => (active.has(l) ? probs : undefined),
      after(l: number, p: Pass, io: AttendIo) {
        const m = mix.get(l);
        if (!m || !io.probs) return;
        recordAnalysisShare(rt, { probs, v: io.v, mix: m.buf, out: io.out }, { n: p.n, pos0: p.pos0, hq: io.hq, hv: io.hv, dv: io.dv, kv: io.kv, vView: io.vView, targets: m.n });
      },
    };
    await b.probeForward(ids, {
      maps: probe,
      maxRows: chunk,
      logits: true,
      signal,
      record: (p, _s, m, logits) => recordAnalysisNll(rt, { logits: logits!, ids: idsBuf, out: nll }, { m, vocab: b.config.vocabSize, pos0: p.pos0, t: T }),
    });
    const rowsNll = await rt.readF32(nll, T);
    let sum = 0;
    for (let i = 0; i + 1 < T; i++) sum += rowsNll[i];
    return sum;
  } finally {
    for (const g of owned) g.destroy();
  }
}
