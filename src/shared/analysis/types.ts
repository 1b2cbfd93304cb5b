// The analysis data model shared by the main side (engine + services), the CLI and the renderer.
// An analysis is a run of kind 'analysis': its parameters on the run, its scalars as metrics, its
// summary as the JSON artifact `summary.json` (AnalysisSummary) and its arrays as binary artifacts
// (little-endian, typed and shaped by the summary's `arrays` table). Everything here is plain data.
//
// Conventions (every number traceable to one function — see docs/analysis.md):
//  - a "map" is one distinct attention map a layer computes: a query head for MHA/GQA/MLA, a query
//    group for GTA (the heads of a group share it). maps[L] = numMaps, the same for every layer.
//  - maps are [query row i][key column j], causal (zeros for j > i), rows summing to 1.
//  - JS divergence uses log base 2 (values in [0, 1]) with 0·log 0 = 0; the layer matrix entry (a, b)
//    is the mean over query rows i of JS(a[i,:], b[i,:]).
//  - cosine similarity is of the flattened T×T maps.

import type { ModelConfig } from '../arch/config';

export type AnalysisKind = 'maps' | 'similarity' | 'grouping' | 'sharedMap' | 'compressibility' | 'kvFlops';
export const ANALYSIS_KINDS: readonly AnalysisKind[] = ['maps', 'similarity', 'grouping', 'sharedMap', 'compressibility', 'kvFlops'];

export type ThumbReduce = 'mean' | 'max';
export type SharedMapMode = 'medoid' | 'mean';

export interface AnalysisInput {
  /** Must be the loaded model. */
  modelId: string;
  /** Exactly one source: text, token ids, or a stored conversation (its messages as the next prompt would encode them). */
  text?: string;
  tokenIds?: number[];
  conversationId?: string;
  /** Default: all. 'grouping' needs 'similarity'; 'sharedMap' needs 'grouping' (added automatically). */
  analyses?: AnalysisKind[];
  /** Side of the model-view thumbnails in cells (default 64, at most 256); a cell is a block of the T×T map. */
  thumbSide?: number;
  /** How a thumbnail cell reduces its block (default 'mean'). */
  thumbReduce?: ThumbReduce;
  /** JS thresholds for the grouping suggestions and the shared-map test (default [0.05, 0.1, 0.2]). */
  taus?: number[];
  /** What a group shares in the shared-map test (default 'medoid'). */
  sharedMode?: SharedMapMode;
  /**
   * Also test each layer grouped alone at the τ nearest 0.1 (one forward per layer whose grouping is not
   * all singletons). Default: on for models of up to 12 layers, off above (it dominates the run's time).
   */
  sharedMapPerLayer?: boolean;
  title?: string;
  taskId?: string;
}

export interface AnalysisStarted {
  taskId: string;
  runId: string;
}

/** Means over the query rows of one map. Units: entropy in bits; distance in tokens; the rest are probability mass in [0, 1]. */
export interface MapStats {
  entropy: number; // −Σ_j p log2 p, mean over rows
  distance: number; // Σ_j p·(i − j), mean over rows (tokens)
  sink: number; // p[i][0]: attention on the first token
  local: number; // p[i][i−1] (rows i ≥ 1): attention on the previous token
  self: number; // p[i][i]
}

/** A binary array artifact: `name` in the run's artifacts, little-endian, row-major. */
export interface ArrayRef {
  name: string; // artifact name, e.g. 'thumbs.f32'
  dtype: 'f32' | 'f16' | 'u32';
  shape: number[];
  sha256: string;
}

/** One agglomeration step of average-linkage clustering (scipy's linkage row): clusters a and b (ids ≥ n are earlier merges) at height. */
export interface Merge {
  a: number;
  b: number;
  height: number;
  size: number;
}

export interface SimilarityMatrix {
  n: number; // maps compared
  js: number[]; // [n·n] mean JS divergence (bits), symmetric, zero diagonal
  cosine: number[]; // [n·n] cosine similarity of the flattened maps
  order: number[]; // leaf order of the average-linkage dendrogram on JS
  merges: Merge[]; // n − 1 merges
}

export interface GroupingSuggestion {
  tau: number;
  /** Free grouping: any maps may form a group. groups[k] lists map indices; medoids[k] is in groups[k]. */
  free: { groups: number[][]; medoids: number[]; maxJs: number };
  /** GTA's own constraint: equal contiguous groups whose count divides the map count; null when none fits τ (only one group per map fits trivially, so this is never null in practice). */
  contiguous: { groups: number[][]; medoids: number[]; maxJs: number } | null;
}

/** What a GTA-style layer with g shared maps would cost, against the model as it is (formulas.ts). */
export interface GroupingCost {
  groups: number;
  kvValuesPerTokenLayer: number;
  attentionFlopsPerToken: number; // paper convention (Table 4 terms), at the analysed length
}

export interface LayerGrouping {
  layer: number; // −1 for the whole model (every map of every layer)
  suggestions: GroupingSuggestion[];
}

export interface SharedMapResult {
  tau: number;
  mode: SharedMapMode;
  scope: 'layer' | 'model';
  layer: number | null; // the one grouped layer for scope 'layer'
  grouping: 'free' | 'contiguous';
  groups: number; // total groups in the grouped layers
  maps: number; // total maps in the grouped layers
  nll: number; // mean token NLL (nats) over the text's predicted tokens
  ppl: number;
  deltaPct: number; // (ppl / baseline − 1) · 100
}

export interface SharedMapTest {
  tokens: number; // predicted tokens (T − 1)
  baselineNll: number;
  baselinePpl: number;
  results: SharedMapResult[];
}

export type CachePart = 'keys' | 'values' | 'latent' | 'ropeKey' | 'decodedValues';

export interface Spectrum {
  layer: number;
  part: CachePart;
  rows: number; // tokens
  dim: number; // width of the cached row (all heads)
  singular: number[]; // descending, min(rows, dim) values
  rank90: number; // smallest r keeping 90 % of Σσ² (energy)
  rank99: number;
}

export interface KvFlopsPoint {
  tokens: number; // context length
  kvBytesAnalytic: number; // all layers, all parts, at the cache's dtype
  parts: { part: string; bytes: number }[];
  prefillFlops: { attention: number; linear: number; total: number }; // analytic, real FLOPs (2 per MAC), causal
  decodeFlops: { attention: number; linear: number; total: number }; // one step at this context
  paperAttention: number; // GTA paper Table 4 attention term per layer (complexity units)
}

export interface KvFlopsView {
  bytesPerValue: number;
  curve: KvFlopsPoint[]; // analytic, log-spaced up to the model's context
  measured: { tokens: number; kvBytes: number; byPart: { layer: number; part: string; bytes: number }[] }; // the cache's own report after the analysed prefill
  /** Engine op counters over the analysed prefill, split as the formulas split them. */
  counted: { tokens: number; attention: number; linear: number; other: number; total: number };
  /** Analytic values for the same prefill. */
  analytic: { tokens: number; attention: number; linear: number; total: number };
  notes: string[]; // every flagged difference, in words
}

export interface AnalysisSummary {
  version: 1;
  runId: string;
  model: {
    id: string;
    name: string;
    architecture: string;
    variant: string; // MHA | GQA | MQA | MLA | GTA
    family: string;
    weightHash: string; // sha256 of the weight files' headers and sizes (model identity)
    numLayers: number;
    numHeads: number; // query heads
    numMaps: number; // distinct maps per layer (GTA: query groups)
    headsPerMap: number;
    maxContext: number;
    /** The normalised config (src/shared/arch/config.ts): lets the UI recompute grouping costs live. */
    config?: ModelConfig;
  };
  input: { source: 'text' | 'tokens' | 'conversation'; tokens: number; idsSha256: string; textSha256: string | null };
  /** Token strings for axis labels and hover (decoded one by one). */
  tokenLabels: string[];
  backend: { kind: 'gpu' | 'cpu'; device: string; dtype: 'f16' | 'f32' };
  analyses: AnalysisKind[];
  settings: { thumbSide: number; thumbReduce: ThumbReduce; taus: number[]; sharedMode: SharedMapMode; sharedMapPerLayer?: boolean; crossLayerRows: number };
  /** Per layer, per map. */
  stats?: MapStats[][];
  arrays: Record<string, ArrayRef>;
  /** Maps as stored: 'full' ([L, maps, T, T] f16 in 'maps.f16') or 'thumbs' only ([L, maps, S, S] f32 in 'thumbs.f32'). */
  mapsStored?: { full: boolean; thumbSide: number };
  similarity?: { layers: SimilarityMatrix[]; global: SimilarityMatrix & { mds: [number, number][]; rows: number } };
  grouping?: { layers: LayerGrouping[]; model: LayerGrouping; costs: { asIs: GroupingCost; perTau: { tau: number; layerGroups: number[]; total: GroupingCost }[] } };
  sharedMap?: SharedMapTest;
  compressibility?: Spectrum[];
  kvFlops?: KvFlopsView;
  /** Wall time of each analysis (ms), and the whole run. */
  timings: Record<string, number>;
}

/** A decoded array as sent over the API: base64 of the little-endian bytes. */
export interface ArrayPayload {
  dtype: 'f32' | 'f16' | 'u32';
  shape: number[];
  base64: string;
}
