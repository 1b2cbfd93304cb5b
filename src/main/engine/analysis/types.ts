// The analysis engine's contract (re-exported by index.ts): what the service layer calls.
import type { MapStats } from '../../../shared/analysis/types';

export interface AttentionReduceOptions {
  thumbSide: number; // S (≥ 1); clamp to T
  thumbReduce: 'mean' | 'max';
  keepFull: boolean; // also return each layer's full maps as f16 bits
  crossLayerRows: number; // R; 0 = no cross-layer matrices
  signal?: AbortSignal; // checked between layers/chunks; throws CancelledError
  onProgress?: (done: number, total: number) => void;
}

export interface LayerReduction {
  layer: number;
  stats: MapStats[];
  js: Float64Array; // [maps, maps] mean JS over the T query rows (bits)
  cosine: Float64Array; // [maps, maps] of the flattened T×T maps
  thumbs: Float32Array; // [maps, S', S']
  full?: Uint16Array; // [maps, T, T] f16 bits
}

export interface AttentionReduction {
  tokens: number;
  maps: number;
  thumbSide: number; // S' = min(S, T)
  layers: LayerReduction[];
  /**
   * Every map of every layer (L·maps, layer-major) compared on the query rows `rows` only: JS is the mean
   * over those rows, cosine that of the maps restricted to them. rows.length is the R used (lowered when
   * [L·maps, R, T] f32 would exceed the GPU's storage binding limit). Null when crossLayerRows = 0.
   */
  global: { rows: number[]; n: number; js: Float64Array; cosine: Float64Array } | null;
}

export interface MapShare {
  layer: number;
  groups: number[][];
  medoids: number[];
  mode: 'medoid' | 'mean';
}
