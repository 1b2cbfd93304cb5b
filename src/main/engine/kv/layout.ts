// What each attention variant caches per token and layer, as the variant means it (architecture.md):
//   llama (MHA/GQA): keys [n_kv, d_k] and values [n_kv, d_v]
//   mla:             one latent row [d_c + d_rope]: the normalised c, then the roped shared key
//   gta:             keys [n_k, d_k] and the latent [n_c, d_l]
// A "buffer" is one GPU allocation per layer; a "part" is what a report names. MLA keeps c and k_rope
// in one row (the decode kernel reads them as one 576-wide key) but reports them as two parts.

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
  let buffers: KvBufferLayout[];
  let parts: KvPart[];
  switch (s.family) {
    case 'llama':
      buffers = [
        { name: 'k', rowElems: s.nKvHeads * s.headDimK },
        { name: 'v', rowElems: s.nKvHeads * s.headDimV },
      ];
      parts = [
        { name: 'keys', buffer: 'k', offset: 0, elems: buffers[0].rowElems },
        { name: 'values', buffer: 'v', offset: 0, elems: buffers[1].rowElems },
      ];
      break;
    case 'mla':
      buffers = [{ name: 'latent', rowElems: s.kvLoraRank + s.ropeDim }];
      parts = [
        { name: 'latent', buffer: 'latent', offset: 0, elems: s.kvLoraRank },
        { name: 'ropeKey', buffer: 'latent', offset: s.kvLoraRank, elems: s.ropeDim },
      ];
      break;
    case 'gta':
      buffers = [
        { name: 'k', rowElems: s.nKeyHeads * s.keyDim },
        { name: 'latent', rowElems: s.nLatentGroups * s.latentDim },
      ];
      parts = [
        { name: 'keys', buffer: 'k', offset: 0, elems: buffers[0].rowElems },
        { name: 'latent', buffer: 'latent', offset: 0, elems: buffers[1].rowElems },
      ];
      break;
  }
  return { family: s.family, nLayers: s.nLayers, buffers, parts, elemsPerToken: parts.reduce((a, p) => a + p.elems, 0) };
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
