// KV bytes and FLOPs against context length for the loaded model: the analytic curves
// (src/shared/formulas.ts), the cache's own report after a prefill of the analysed text, and the
// engine's op counters over that same prefill, split the way the formulas split them. Differences are
// flagged in words (`notes`), never hidden.
import type { ModelConfig } from '../../../shared/arch/config';
import type { KvFlopsPoint, KvFlopsView } from '../../../shared/analysis/types';
import { countedFlops, decodeStepFlops, kvBytes, paperFlops } from '../../../shared/formulas';
import { diffCounters, type InferenceBackend } from '../../engine';

/** Op kinds of the counters that are attention proper (scores and weighted sums), not projections. */
const ATTENTION_OPS = new Set(['attn']);
/** Elementwise and bookkeeping ops: no matmul FLOPs the formulas count (norms, RoPE, activations, copies). */
const OTHER_OPS = new Set(['embed', 'rms_norm', 'attn_norm', 'mlp_norm', 'final_norm', 'rope', 'rope_store', 'mlp_act', 'gather', 'kv_stage', 'sample', 'add', 'argmax']);

/** Context lengths of the analytic curve: powers of two from 128, plus the analysed length and the context. */
export function curveLengths(maxContext: number, analysed: number): number[] {
  const xs = new Set<number>();
  for (let t = 128; t < maxContext; t *= 2) xs.add(t);
  xs.add(maxContext);
  if (analysed >= 1 && analysed <= maxContext) xs.add(analysed);
  return [...xs].sort((a, b) => a - b);
}

export function kvFlopsPoint(c: ModelConfig, tokens: number, bytesPerValue: number): KvFlopsPoint {
  const kv = kvBytes(c, { bytesPerValue, tokens });
  const pre = countedFlops(c, tokens, { causal: true });
  const dec = decodeStepFlops(c, tokens);
  const split = (f: typeof pre) => ({ attention: c.numLayers * f.attention, linear: c.numLayers * (f.projections + f.mlp) + f.lmHead, total: f.total });
  return {
    tokens,
    kvBytesAnalytic: kv.total,
    parts: kv.parts.map((p) => ({ part: p.part, bytes: p.total })),
    prefillFlops: split(pre),
    decodeFlops: split(dec),
    paperAttention: paperFlops(c, tokens).attention,
  };
}

function relDiff(a: number, b: number): number {
  return b === 0 ? (a === 0 ? 0 : Infinity) : Math.abs(a - b) / Math.abs(b);
}

/**
 * Prefills `ids` once (from an empty cache) with the counters and the cache report around it. The cache is
 * left holding the prefill; callers reset it.
 */
export async function kvFlopsView(backend: InferenceBackend, ids: number[]): Promise<KvFlopsView> {
  const c = backend.config;
  backend.reset();
  const before = backend.counters();
  await backend.forward({ ids, logits: 'last' });
  const work = diffCounters(backend.counters(), before);
  const report = backend.kvReport();
  const bytesPerValue = report.tokens > 0 ? report.bytesPerToken / (report.elemsPerToken * c.numLayers) : 2;
  const T = ids.length;
  let attention = 0;
  let linear = 0;
  let other = 0;
  for (const [op, v] of Object.entries(work.byOp)) {
    if (ATTENTION_OPS.has(op)) attention += v.flops;
    else if (OTHER_OPS.has(op)) other += v.flops;
    else linear += v.flops;
  }
  const point = kvFlopsPoint(c, T, bytesPerValue);
  // The engine computes the last row's logits only (logits: 'last'); the formulas count every row's.
  const lmHeadAll = 2 * T * c.hiddenSize * c.vocabSize;
  const lmHeadLast = 2 * c.hiddenSize * c.vocabSize;
  const analytic = { tokens: T, attention: point.prefillFlops.attention, linear: point.prefillFlops.linear - lmHeadAll + lmHeadLast, total: 0 };
  analytic.total = analytic.attention + analytic.linear;
  const measuredBytes = report.byPart.reduce((a, p) => a + p.usedBytes, 0);
  const notes: string[] = [];
  const kvDiff = relDiff(measuredBytes, point.kvBytesAnalytic);
  if (kvDiff > 1e-9) notes.push(`The cache reports ${measuredBytes.toLocaleString('en-US')} bytes for ${T} tokens; the formula gives ${point.kvBytesAnalytic.toLocaleString('en-US')} (${(kvDiff * 100).toFixed(2)} % apart).`);
  const aDiff = relDiff(attention, analytic.attention);
  if (aDiff > 0.01) {
    notes.push(
      `Counted attention FLOPs (${attention.toExponential(3)}) differ from the analytic ones (${analytic.attention.toExponential(3)}) by ${(aDiff * 100).toFixed(1)} %` +
        (c.family === 'mla' ? ': the formula counts MLA per head in its expanded form (d_nope + d_rope keys, d_v values); the engine attends over the absorbed latent (d_c + d_rope keys, d_c values).' : '.'),
    );
  }
  const lDiff = relDiff(linear, analytic.linear);
  if (lDiff > 0.01) notes.push(`Counted linear FLOPs (${linear.toExponential(3)}) differ from the analytic ones (${analytic.linear.toExponential(3)}) by ${(lDiff * 100).toFixed(1)} % (ops counted as linear: ${Object.keys(work.byOp).filter((k) => !ATTENTION_OPS.has(k) && !OTHER_OPS.has(k)).join(', ')}).`);
  return {
    bytesPerValue,
    curve: curveLengths(c.maxPositions, T).map((t) => kvFlopsPoint(c, t, bytesPerValue)),
    measured: { tokens: report.tokens, kvBytes: measuredBytes, byPart: report.byPart.map((p) => ({ layer: p.layer, part: p.part, bytes: p.usedBytes })) },
    counted: { tokens: T, attention, linear, other, total: attention + linear + other },
    analytic,
    notes,
  };
}
