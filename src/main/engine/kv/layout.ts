// What each attention variant caches per token and layer, as the variant means it (architecture.md):
//   llama (MHA/GQA): keys [n_kv, d_k] and values [n_kv, d_v]
//   mla:             the normalised latent c [d_c] and the roped shared key [d_rope]
//   gta:             keys [n_k, d_k] and the latent [n_c, d_l]
// Each layer keeps one buffer whose token row holds the parts side by side ([k ‖ v], [c ‖ k_rope],
// [k ‖ c]): the fused projection writes a token's parts next to each other, so one append stores them,
// and the attention kernels read each part through a strided view. Reports name the parts.

import type { ModelConfig } from '../../../shared/arch/config';
import type { KvPartName } from '../../../shared/formulas';

/** f16/f32 on the GPU; f64 is the CPU reference's float64 rows. */
export type KvDtype = 'f16' | 'f32' | 'f64';

/** The attention dimensions a cache needs; taken from the normalised model config. */
export type KvShape =
  | { family: 'llama'; nLayers: number; nKvHeads: number; headDimK: number; headDimV: number }
  | { family: 'mla'; nLayers: number; kvLoraRank: number; ropeDim: number }
  | { family: 'gta'; nLayers: number; nKeyHeads: number; keyDim: number; nLatentGroups: number; latentDim: number };

/** The cache shape a checkpoint's config implies. */
export function kvShapeOf(c: ModelConfig): KvShape {
  switch (c.family) {
    case 'llama':
      return { family: 'llama', nLayers: c.numLayers, nKvHeads: c.numKvHeads, headDimK: c.headDim, headDimV: c.headDim };
    case 'mla':
      return { family: 'mla', nLayers: c.numLayers, kvLoraRank: c.kvLoraRank, ropeDim: c.qkRopeHeadDim };
    case 'gta':
      return { family: 'gta', nLayers: c.numLayers, nKeyHeads: c.numKeyHeads, keyDim: c.keyDim, nLatentGroups: c.numValueHeads, latentDim: c.valueDim };
  }
}

export interface KvPart {
  name: KvPartName; // the names src/shared/formulas.ts uses
  buffer: string; // which per-layer buffer holds it
  offset: number; // first element of this part inside a buffer row
  elems: number; // elements per token
}

export interface KvBufferLayout {
  name: string;
  rowElems: number; // elements per token in this buffer
}

export interface KvLayout {
  family: KvShape['family'];
  nLayers: number;
  buffers: KvBufferLayout[];
  parts: KvPart[];
  /** Values cached per token per layer, summed over parts (GTA-1B 192, PLM-1.8B 576, GQA-1B 640). */
  elemsPerToken: number;
}

export function kvLayout(s: KvShape): KvLayout {
  let parts: KvPart[];
  let buffer: KvBufferLayout;
  switch (s.family) {
    case 'llama': {
      const w = s.nKvHeads * s.headDimK;
      buffer = { name: 'kv', rowElems: w + s.nKvHeads * s.headDimV };
      parts = [
        { name: 'keys', buffer: 'kv', offset: 0, elems: w },
        { name: 'values', buffer: 'kv', offset: w, elems: s.nKvHeads * s.headDimV },
      ];
      break;
    }
    case 'mla':
      buffer = { name: 'latent', rowElems: s.kvLoraRank + s.ropeDim };
      parts = [
        { name: 'latent', buffer: 'latent', offset: 0, elems: s.kvLoraRank },
        { name: 'ropeKey', buffer: 'latent', offset: s.kvLoraRank, elems: s.ropeDim },
      ];
      break;
    case 'gta': {
      const w = s.nKeyHeads * s.keyDim;
      buffer = { name: 'kv', rowElems: w + s.nLatentGroups * s.latentDim };
      parts = [
        { name: 'keys', buffer: 'kv', offset: 0, elems: w },
        { name: 'latent', buffer: 'kv', offset: w, elems: s.nLatentGroups * s.latentDim },
      ];
      break;
    }
  }
  return { family: s.family, nLayers: s.nLayers, buffers: [buffer], parts, elemsPerToken: parts.reduce((a, p) => a + p.elems, 0) };
}

export function dtypeBytes(d: KvDtype): number {
  return d === 'f16' ? 2 : d === 'f32' ? 4 : 8;
}

export interface KvPartBytes {
  layer: number;
  part: KvPartName;
  reservedBytes: number; // allocated for n_ctx tokens
  usedBytes: number; // holding the tokens cached so far
}

export interface KvReport {
  family: KvShape['family'];
  dtype: KvDtype;
  nCtx: number;
  tokens: number; // tokens cached
  elemsPerToken: number; // per layer
  bytesPerToken: number; // over all layers
  reservedBytes: number;
  usedBytes: number;
  byPart: KvPartBytes[]; // one entry per (layer, part)
}
