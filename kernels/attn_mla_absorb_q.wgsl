// Absorbed MLA query: q̃_h = W_UK_hᵀ · q_nope_h (d_c wide) followed by q_rope_h, so that scores can be
// taken straight against the latent cache row [c ‖ k_rope]. W_UK_h = rows [h·(d_nope+d_v), +d_nope) of
// kv_b_proj [n_h·(d_nope+d_v), d_c]. One invocation per output column pair for NT tokens: the weight
// rows are read coalesced, once per NT tokens; q_nope of those tokens sits in workgroup memory.

override W_F16: bool = true;
override DNOPE: u32 = 128u; // = d_nope: a constant so the weight loop unrolls and keeps loads in flight

const WG: u32 = 64u;
const NT: u32 = 4u;        // tokens per workgroup
const MAX_NOPE: u32 = 256u;

struct Params {
  n: u32,
  nh: u32,
  d_nope: u32,
  d_rope: u32,
  d_v: u32,
  d_c: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [n, nh, d_nope + d_rope] f32 (rope applied)
@group(0) @binding(2) var<storage, read> w: array<u32>;          // kv_b_proj [nh·(d_nope+d_v), d_c], f16 pairs or f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [n, nh, d_c + d_rope] f32

var<workgroup> qn: array<f32, NT * MAX_NOPE>; // q_nope of NT tokens

fn load_w(idx: u32) -> vec2<f32> {
  if (W_F16) {
    return unpack2x16float(w[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(w[idx]), bitcast<f32>(w[idx + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let t0 = wg.z * NT;
  let nt = min(NT, p.n - t0);
  let dq = p.d_nope + p.d_rope;
  let dout = p.d_c + p.d_rope;
  for (var e = tid; e < NT * p.d_nope; e += WG) {
    let t = e / p.d_nope;
    var x = 0.0;
    if (t < nt) {
      x = q[((t0 + t) * p.nh + h) * dq + e % p.d_nope];
    }
    qn[t * MAX_NOPE + e % p.d_nope] = x;
  }
  workgroupBarrier();

  let c = (wg.x * WG + tid) * 2u; // output column pair
  if (c >= dout) {
    return;
  }
  if (c >= p.d_c) {
    // The rope part passes through unchanged.
    for (var t = 0u; t < nt; t++) {
      let src = ((t0 + t) * p.nh + h) * dq + p.d_nope + c - p.d_c;
      let dst = ((t0 + t) * p.nh + h) * dout + c;
      out[dst] = q[src];
      out[dst + 1u] = q[src + 1u];
    }
    return;
  }
  var acc: array<vec2<f32>, NT>;
  for (var t = 0u; t < NT; t++) {
    acc[t] = vec2<f32>(0.0);
  }
  let row0 = h * (p.d_nope + p.d_v);
  for (var r = 0u; r < DNOPE; r++) {
    let wv = load_w((row0 + r) * p.d_c + c);
    for (var t = 0u; t < NT; t++) {
      acc[t] += qn[t * MAX_NOPE + r] * wv;
    }
  }
  for (var t = 0u; t < nt; t++) {
    let dst = ((t0 + t) * p.nh + h) * dout + c;
    out[dst] = acc[t].x;
    out[dst + 1u] = acc[t].y;
  }
}
