// Rotary position embedding, in place, one thread per rotated pair.
// Element (token t, head h, dim d) lives at t·token_stride + base + h·head_stride + offset + d, and
// dims [0, rot_dim) of that slice are rotated: pairs (i, i + rot_dim/2) for Llama's rotate-half,
// (2i, 2i+1) when INTERLEAVED (GPT-J). Pair i turns by (pos0 + t) · theta^(−2i/rot_dim).
// A second run of n_heads2 heads may follow at base2 / offset2 (same strides and rotation): MLA's
// shared k_rope after its query heads in one fused projection row, rotated in the same dispatch.

override INTERLEAVED: bool = false;

struct Params {
  n_tokens: u32,
  n_heads: u32,
  head_stride: u32,
  offset: u32,
  rot_dim: u32,
  pos0: u32,
  token_stride: u32,
  base: u32,
  theta: f32,
  n_heads2: u32,
  base2: u32,
  offset2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;      // [n_tokens, token_stride]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let half = p.rot_dim / 2u;
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  let heads = p.n_heads + p.n_heads2;
  if (idx >= p.n_tokens * heads * half) {
    return;
  }
  let i = idx % half;
  let h = (idx / half) % heads;
  let t = idx / (half * heads);
  var b = t * p.token_stride + p.base + h * p.head_stride + p.offset;
  if (h >= p.n_heads) {
    b = t * p.token_stride + p.base2 + (h - p.n_heads) * p.head_stride + p.offset2;
  }
  // kernels/common/rope_angle.wgsl
  let e = rope_pair(b, i, half, INTERLEAVED);
  let r = rope_turn(x[e.x], x[e.y], p.pos0 + t, i, p.rot_dim, p.theta);
  x[e.x] = r.x;
  x[e.y] = r.y;
}
