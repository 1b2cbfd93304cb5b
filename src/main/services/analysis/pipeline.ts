// The analysis pipeline: one loaded backend and one token sequence in, an AnalysisSummary and its arrays
// out. GPU reductions (engine/analysis) do the T×T work per layer; what is left here is small: clustering,
// MDS, grouping, spectra, formulas. No store, no events: the service (service.ts) and the CLI record the
// result; tools/bench/analysis-bench.ts times it. Each step's wall time lands in `timings`.
import { variantOf, type ModelConfig } from '../../../shared/arch/config';
import { averageLinkage } from '../../../shared/analysis/cluster';
import { gtaCost, asIsCost, suggestGroups } from '../../../shared/analysis/grouping';
import { classicalMds } from '../../../shared/analysis/mds';
import { energyRank } from '../../../shared/analysis/spectrum';
import { gramSpectraParallel } from './eigen-pool';
import type {
  AnalysisKind, AnalysisSummary, CachePart, GroupingSuggestion, LayerGrouping, SharedMapMode, SharedMapResult, SharedMapTest, SimilarityMatrix, Spectrum, ThumbReduce,
} from '../../../shared/analysis/types';
import { CancelledError } from '../../../shared/errors';
import { cacheGrams, reduceAttention, sharedMapNll, type AttentionReduction, type InferenceBackend, type MapShare } from '../../engine';
import { kvFlopsView } from './kv-flops';

export interface PipelineSettings {
  analyses: AnalysisKind[];
  thumbSide: number;
  thumbReduce: ThumbReduce;
  taus: number[];
  sharedMode: SharedMapMode;
  /** Also run the shared-map test with each layer grouped alone (one forward per layer with a non-trivial grouping). */
  sharedMapPerLayer: boolean;
  /** Store every layer's full maps (f16) when they take at most this many bytes; else thumbnails only. */
  fullMapsMaxBytes: number;
  /** Query rows kept per map for the all-layers similarity (evenly spaced). */
  crossLayerRows: number;
}

/** Above this many layers the per-layer shared-map test is opt-in (one forward a layer dominates the run). */
/**
 * The all-layers similarity matrices, [n, n] f32 (n = layers × maps), stored as arrays with
 * summary.similarity.global.js/cosine left empty (runs recorded before 2026-12-07 inline them instead).
 */
export const GLOBAL_JS_ARRAY = 'global-js.f32';
export const GLOBAL_COSINE_ARRAY = 'global-cosine.f32';

export const PER_LAYER_DEFAULT_MAX_LAYERS = 12;

export const DEFAULT_SETTINGS: PipelineSettings = {
  analyses: ['maps', 'similarity', 'grouping', 'sharedMap', 'compressibility', 'kvFlops'],
  thumbSide: 64,
  thumbReduce: 'mean',
  taus: [0.05, 0.1, 0.2],
  sharedMode: 'medoid',
  sharedMapPerLayer: true,
  fullMapsMaxBytes: 64 << 20,
  crossLayerRows: 128,
};

/** An array produced by the pipeline, stored by the caller as a binary artifact. */
export interface PipelineArray {
  name: string;
  dtype: 'f32' | 'f16' | 'u32';
  shape: number[];
  data: Float32Array | Uint16Array | Uint32Array;
}

export interface PipelineModel {
  id: string;
  name: string;
  architecture: string;
  weightHash: string;
}

export interface PipelineHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, label: string) => void;
  /** Called after each finished step with the summary so far (the service stores it when cancelled). */
  partial?: (s: Omit<AnalysisSummary, 'runId'>, arrays: PipelineArray[]) => void;
}

/** Analyses that need others: grouping needs the similarity matrices, the shared-map test needs grouping. */
export function withDependencies(kinds: AnalysisKind[]): AnalysisKind[] {
  const s = new Set(kinds);
  if (s.has('sharedMap')) s.add('grouping');
  if (s.has('grouping')) s.add('similarity');
  const order: AnalysisKind[] = ['maps', 'similarity', 'grouping', 'sharedMap', 'compressibility', 'kvFlops'];
  return order.filter((k) => s.has(k));
}

/** Maps per layer and heads per map (GTA: query groups, each shared by numHeads / groups heads). */
export function mapsOf(c: ModelConfig): { numMaps: number; numHeads: number } {
  if (c.family === 'gta') return { numMaps: c.numQueryHeads, numHeads: c.numHeads };
  return { numMaps: c.numHeads, numHeads: c.numHeads };
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError('The analysis was cancelled.');
}

function similarity(js: Float64Array, cosine: Float64Array, n: number): SimilarityMatrix {
  const { merges, order } = averageLinkage(js, n);
  return { n, js: Array.from(js), cosine: Array.from(cosine), order, merges };
}

/** sqrt of the JS divergence: the Jensen–Shannon distance, a metric (MDS wants distances). */
function jsDistance(js: Float64Array): Float64Array {
  return js.map((v) => Math.sqrt(Math.max(0, v)));
}

export interface PipelineResult {
  summary: Omit<AnalysisSummary, 'runId'>;
  arrays: PipelineArray[];
}

/**
 * Runs the requested analyses of `ids` on `backend`. `tokenLabels` are the tokens as text (for axes).
 * The backend's cache is reset by each step; it is left empty.
 */
export async function runAnalysis(
  backend: InferenceBackend,
  model: PipelineModel,
  ids: number[],
  input: { source: 'text' | 'tokens' | 'conversation'; idsSha256: string; textSha256: string | null; tokenLabels: string[]; device?: string },
  settings: PipelineSettings,
  hooks: PipelineHooks = {},
): Promise<PipelineResult> {
  const c = backend.config;
  const analyses = withDependencies(settings.analyses);
  const { numMaps, numHeads } = mapsOf(c);
  const L = c.numLayers;
  const T = ids.length;
  const timings: Record<string, number> = {};
  const arrays: PipelineArray[] = [];
  const t0 = performance.now();
  const steps = analyses.length;
  let done = 0;
  const progress = (label: string) => hooks.progress?.(done, steps, label);

  const summary: Omit<AnalysisSummary, 'runId'> = {
    version: 1,
    model: {
      id: model.id,
      name: model.name,
      architecture: model.architecture,
      variant: variantOf(c),
      family: c.family,
      weightHash: model.weightHash,
      numLayers: L,
      numHeads,
      numMaps,
      headsPerMap: numHeads / numMaps,
      maxContext: c.maxPositions,
      config: c,
    },
    input: { source: input.source, tokens: T, idsSha256: input.idsSha256, textSha256: input.textSha256 },
    tokenLabels: input.tokenLabels,
    backend: { kind: backend.kind, device: input.device ?? backend.device, dtype: backend.dtype },
    analyses,
    settings: { thumbSide: Math.min(settings.thumbSide, T), thumbReduce: settings.thumbReduce, taus: settings.taus, sharedMode: settings.sharedMode, sharedMapPerLayer: settings.sharedMapPerLayer, crossLayerRows: 0 },
    arrays: {},
    timings,
  };
  const step = async (kind: AnalysisKind, label: string, fn: () => Promise<void> | void) => {
    if (!analyses.includes(kind)) return;
    checkAbort(hooks.signal);
    progress(label);
    const s = performance.now();
    await fn();
    timings[kind] = performance.now() - s;
    done++;
    hooks.partial?.(summary, arrays);
  };

  // Maps and similarity come from one pass of GPU reductions.
  let red: AttentionReduction | null = null;
  const needMaps = analyses.includes('maps') || analyses.includes('similarity');
  if (needMaps) {
    checkAbort(hooks.signal);
    progress('Attention maps: reducing every layer on the GPU');
    const s = performance.now();
    const fullBytes = L * numMaps * T * T * 2;
    red = await reduceAttention(backend, ids, {
      thumbSide: settings.thumbSide,
      thumbReduce: settings.thumbReduce,
      keepFull: analyses.includes('maps') && fullBytes <= settings.fullMapsMaxBytes,
      crossLayerRows: analyses.includes('similarity') ? Math.min(settings.crossLayerRows, T) : 0,
      signal: hooks.signal,
      onProgress: (d, t) => hooks.progress?.(done + d / Math.max(1, t), steps, `Attention maps: layer ${Math.min(d + 1, t)} of ${t}`),
    });
    timings.reduce = performance.now() - s;
  }
  const r = red;

  await step('maps', 'Attention maps', () => {
    if (!r) return;
    const S = r.thumbSide;
    summary.settings.thumbSide = S;
    summary.stats = r.layers.map((l) => l.stats);
    const thumbs = new Float32Array(L * numMaps * S * S);
    r.layers.forEach((l, i) => thumbs.set(l.thumbs, i * numMaps * S * S));
    arrays.push({ name: 'thumbs.f32', dtype: 'f32', shape: [L, numMaps, S, S], data: thumbs });
    const full = r.layers.every((l) => l.full);
    if (full) {
      const maps = new Uint16Array(L * numMaps * T * T);
      r.layers.forEach((l, i) => maps.set(l.full!, i * numMaps * T * T));
      arrays.push({ name: 'maps.f16', dtype: 'f16', shape: [L, numMaps, T, T], data: maps });
    }
    summary.mapsStored = { full, thumbSide: S };
  });

  let globalJs: Float64Array | null = null; // the all-layers JS matrix, kept here for the grouping step
  await step('similarity', 'Head-to-head similarity', () => {
    if (!r) return;
    const layers = r.layers.map((l) => similarity(l.js, l.cosine, numMaps));
    const g = r.global;
    let global: SimilarityMatrix & { mds: [number, number][]; rows: number };
    if (g) {
      // The [n, n] all-layers matrices (n = layers × maps: 512 maps make 262k values each) go to binary
      // arrays, not the summary JSON, so opening a run parses no large matrix; the UI fetches them on demand.
      const { merges, order } = averageLinkage(g.js, g.n);
      global = { n: g.n, js: [], cosine: [], order, merges, mds: classicalMds(jsDistance(g.js), g.n), rows: g.rows.length };
      arrays.push({ name: GLOBAL_JS_ARRAY, dtype: 'f32', shape: [g.n, g.n], data: Float32Array.from(g.js) });
      arrays.push({ name: GLOBAL_COSINE_ARRAY, dtype: 'f32', shape: [g.n, g.n], data: Float32Array.from(g.cosine) });
      globalJs = g.js;
      summary.settings.crossLayerRows = g.rows.length;
    } else {
      global = { n: 0, js: [], cosine: [], order: [], merges: [], mds: [], rows: 0 };
    }
    summary.similarity = { layers, global };
  });

  // Grouping suggestions at every τ: per layer, and over all maps of the model.
  const suggestions = new Map<number, GroupingSuggestion[]>(); // τ index → per layer
  await step('grouping', 'GTA grouping suggestion', () => {
    const sim = summary.similarity;
    if (!sim) return;
    const layers: LayerGrouping[] = sim.layers.map((m, layer) => ({ layer, suggestions: settings.taus.map((tau) => suggestGroups(m.js, m.n, tau)) }));
    const model: LayerGrouping = { layer: -1, suggestions: sim.global.n > 0 && globalJs ? settings.taus.map((tau) => suggestGroups(globalJs!, sim.global.n, tau)) : [] };
    settings.taus.forEach((_, k) => suggestions.set(k, layers.map((l) => l.suggestions[k])));
    summary.grouping = {
      layers,
      model,
      costs: {
        asIs: asIsCost(c, T),
        perTau: settings.taus.map((tau, k) => {
          const layerGroups = layers.map((l) => l.suggestions[k].contiguous?.groups.length ?? numMaps);
          return { tau, layerGroups, total: gtaCost(c, layerGroups, T) };
        }),
      },
    };
  });

  await step('sharedMap', 'Shared-map test', async () => {
    if (!summary.grouping) return;
    summary.sharedMap = await sharedMapTest(backend, ids, settings, suggestions, hooks);
  });

  await step('compressibility', 'KV compressibility', async () => {
    summary.compressibility = await spectra(backend, ids, hooks.signal);
  });

  await step('kvFlops', 'KV and FLOPs', async () => {
    summary.kvFlops = await kvFlopsView(backend, ids);
  });

  timings.total = performance.now() - t0;
  hooks.progress?.(steps, steps, 'Done');
  return { summary, arrays };
}

/** The τ whose per-layer runs are made (one forward per layer): the one nearest 0.1. */
function layerTau(taus: number[]): number {
  return taus.reduce((best, t) => (Math.abs(t - 0.1) < Math.abs(best - 0.1) ? t : best), taus[0]);
}

async function sharedMapTest(backend: InferenceBackend, ids: number[], s: PipelineSettings, byTau: Map<number, GroupingSuggestion[]>, hooks: PipelineHooks): Promise<SharedMapTest> {
  const base = await sharedMapNll(backend, ids, [], hooks.signal);
  const baselinePpl = Math.exp(base.nll);
  const results: SharedMapResult[] = [];
  // The same grouping at several τ (or free = contiguous) is one forward, not several.
  const seen = new Map<string, number>();
  const run = async (tau: number, scope: 'layer' | 'model', layer: number | null, grouping: 'free' | 'contiguous', shares: MapShare[]) => {
    checkAbort(hooks.signal);
    const groups = shares.reduce((a, sh) => a + sh.groups.length, 0);
    const maps = shares.reduce((a, sh) => a + sh.groups.flat().length, 0);
    // Every group a singleton: the model is unchanged (the engine leaves singletons alone), no forward needed.
    const trivial = groups === maps;
    const key = JSON.stringify(shares.filter((sh) => sh.groups.some((g) => g.length > 1)));
    let nll = trivial ? base.nll : seen.get(key);
    if (nll === undefined) {
      nll = (await sharedMapNll(backend, ids, shares, hooks.signal)).nll;
      seen.set(key, nll);
    }
    const ppl = Math.exp(nll);
    results.push({ tau, mode: s.sharedMode, scope, layer, grouping, groups, maps, nll, ppl, deltaPct: (ppl / baselinePpl - 1) * 100 });
  };
  const sharesOf = (sug: GroupingSuggestion[], grouping: 'free' | 'contiguous', only?: number): MapShare[] =>
    sug.flatMap((g, layer) => {
      if (only !== undefined && layer !== only) return [];
      const pick = grouping === 'free' ? g.free : (g.contiguous ?? g.free);
      return [{ layer, groups: pick.groups, medoids: pick.medoids, mode: s.sharedMode }];
    });
  const total = s.taus.length * 2 + (s.sharedMapPerLayer ? (byTau.get(s.taus.indexOf(layerTau(s.taus)))?.length ?? 0) : 0);
  let n = 0;
  for (const [k, tau] of s.taus.entries()) {
    const sug = byTau.get(k);
    if (!sug) continue;
    for (const grouping of ['free', 'contiguous'] as const) {
      hooks.progress?.(n++, total, `Shared-map test: whole model at τ = ${tau} (${grouping})`);
      await run(tau, 'model', null, grouping, sharesOf(sug, grouping));
    }
  }
  const tau = layerTau(s.taus);
  const sug = byTau.get(s.taus.indexOf(tau));
  if (sug && s.sharedMapPerLayer) {
    for (let layer = 0; layer < sug.length; layer++) {
      hooks.progress?.(n++, total, `Shared-map test: layer ${layer} alone at τ = ${tau}`);
      await run(tau, 'layer', layer, 'free', sharesOf(sug, 'free', layer));
    }
  }
  return { tokens: base.tokens, baselineNll: base.nll, baselinePpl, results };
}

/** Which taps hold what the family caches (before RoPE: the spectra of the projections themselves). */
function cacheTaps(c: ModelConfig): { part: CachePart; tap: string }[] {
  if (c.family === 'llama') return [{ part: 'keys', tap: 'k' }, { part: 'values', tap: 'v' }];
  if (c.family === 'mla') return [{ part: 'latent', tap: 'latent' }];
  return [{ part: 'keys', tap: 'k' }, { part: 'latent', tap: 'latent' }, { part: 'decodedValues', tap: 'v_decode' }];
}

/**
 * Singular value spectra of each cached part over the text's tokens, per layer: the engine forms each
 * part's Gram matrix XᵀX [dim, dim] (on the GPU: only d×d matrices come back), whose eigenvalues are
 * the squared singular values of X [T, dim]; the first min(T, dim) are kept, descending.
 */
async function spectra(backend: InferenceBackend, ids: number[], signal?: AbortSignal): Promise<Spectrum[]> {
  const c = backend.config;
  const parts = cacheTaps(c);
  const layers = Array.from({ length: c.numLayers }, (_, L) => L);
  checkAbort(signal);
  const grams = await cacheGrams(backend, ids, parts.map((p) => ({ tap: p.tap, layers })), signal);
  const byKey = new Map(grams.map((g) => [`${g.tap}.${g.layer}`, g]));
  const jobs = layers.flatMap((L) => parts.map((p) => ({ L, p, g: byKey.get(`${p.tap}.${L}`)! })));
  // All eigenvalue problems at once on worker threads (eigen-pool.ts): the main thread keeps serving.
  const spectraOf = await gramSpectraParallel(jobs.map((j) => ({ gram: j.g.gram, dim: j.g.dim, rows: j.g.rows })), { signal, transfer: true });
  const out: Spectrum[] = jobs.map((j, k) => {
    const singular = spectraOf[k];
    return { layer: j.L, part: j.p.part, rows: j.g.rows, dim: j.g.dim, singular, rank90: energyRank(singular, 0.9), rank99: energyRank(singular, 0.99) };
  });
  return out;
}
