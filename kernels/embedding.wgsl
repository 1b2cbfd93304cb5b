// Embedding gather: out[t, :] = table[ids[t], :] as f32. One thread per output element;
// grid (ceil(dim / 256), n_tokens). An id outside the vocabulary yields a row of NaN, so a tokenizer
// and model mismatch shows up instead of silently reading another row.

// Weights: two f16 per u32 (element 2k in the low half) when W_F16, else one f32 per u32.
override W_F16: bool = true;

struct Params {
  n_tokens: u32,
  dim: u32,
  vocab: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;          // [n_tokens]
@group(0) @binding(2) var<storage, read> w: array<u32>;            // [vocab, dim] f16 pairs or f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [n_tokens, dim]

fn wload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(w[i]);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let t = gid.y;
  if (j >= p.dim || t >= p.n_tokens) {
    return;
  }
  let id = ids[t];
  if (id >= p.vocab) {
    // NaN from a runtime value: WGSL rejects a NaN constant expression.
    out[t * p.dim + j] = bitcast<f32>(0x7fc00000u | (id & 0u));
    return;
  }
  out[t * p.dim + j] = wload(id * p.dim + j);
}
