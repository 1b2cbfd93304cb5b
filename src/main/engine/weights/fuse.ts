// Projections that read the same input are uploaded as one matrix, so a decode step runs one GEMV
// where it would run several (dispatches, not bytes, bound a batch-1 step on a fast GPU):
//   llama   self_attn.qkv_proj    = [q_proj; k_proj; v_proj]
//   gta     self_attn.qkcg_proj   = [q_proj; k_proj; v_proj (the latent); g_proj (the gate)]
//   mla     self_attn.q_kv_a_proj = [q_proj or q_a_proj; kv_a_proj_with_mqa]
//   swiglu  mlp.gate_up_proj      = [gate_proj; up_proj]
// Rows are concatenated in that order ([out, in] row-major, so the bytes simply follow each other);
// biases likewise when the parts have them. The query comes first so that, for one token, it starts at
// element 0 of the fused output and the attention kernels can read it in place.
import type { ModelConfig } from '../../../shared/arch/config';

export interface FusedGroup {
  name: string; // the fused tensor's name, e.g. model.layers.3.self_attn.qkv_proj.weight
  parts: string[]; // HF names, in row order
}

function layerGroups(c: ModelConfig, L: number): { name: string; parts: string[] }[] {
  const a = `model.layers.${L}.self_attn.`;
  const m = `model.layers.${L}.mlp.`;
  const groups: { name: string; parts: string[] }[] = [];
  if (c.family === 'llama') groups.push({ name: `${a}qkv_proj`, parts: [`${a}q_proj`, `${a}k_proj`, `${a}v_proj`] });
  if (c.family === 'gta') groups.push({ name: `${a}qkcg_proj`, parts: [`${a}q_proj`, `${a}k_proj`, `${a}v_proj`, `${a}g_proj`] });
  if (c.family === 'mla') groups.push({ name: `${a}q_kv_a_proj`, parts: [c.qLoraRank === null ? `${a}q_proj` : `${a}q_a_proj`, `${a}kv_a_proj_with_mqa`] });
  if (c.mlp === 'swiglu') groups.push({ name: `${m}gate_up_proj`, parts: [`${m}gate_proj`, `${m}up_proj`] });
  return groups;
}

/** Every fused tensor of the model (weights, and biases where `hasBias` says the parts have them). */
export function fusedGroups(c: ModelConfig, hasBias: (name: string) => boolean): FusedGroup[] {
  const out: FusedGroup[] = [];
  for (let L = 0; L < c.numLayers; L++) {
    for (const g of layerGroups(c, L)) {
      out.push({ name: `${g.name}.weight`, parts: g.parts.map((p) => `${p}.weight`) });
      const biases = g.parts.map((p) => `${p}.bias`);
      const present = biases.filter(hasBias).length;
      if (present === biases.length) out.push({ name: `${g.name}.bias`, parts: biases });
      else if (present > 0) throw new RangeError(`${g.name}: some of ${biases.join(', ')} have biases and some do not; fused projections need all or none`);
    }
  }
  return out;
}

/** part name → its group and the element offset of its first row in the fused tensor. */
export function partIndex(groups: FusedGroup[], elems: (name: string) => number): Map<string, { group: FusedGroup; offset: number; total: number }> {
  const idx = new Map<string, { group: FusedGroup; offset: number; total: number }>();
  for (const g of groups) {
    const total = g.parts.reduce((a, p) => a + elems(p), 0);
    let off = 0;
    for (const p of g.parts) {
      idx.set(p, { group: g, offset: off, total });
      off += elems(p);
    }
  }
  return idx;
}
