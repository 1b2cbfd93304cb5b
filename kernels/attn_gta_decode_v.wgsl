// GTA value decoder fused with its gate: for each query group g and token,
//   out_g = (tile(a_g, e) + a_g · W_vb[g]) ⊙ sigmoid(gate_g)
// where a_g [d_l] is the attended latent, W_vb is v_b_proj's raw memory read row-major as
// [n_q, d_l, e·d_l] (a reshape of the [e·d_l, n_q·d_l] tensor, not a transpose) and gate is g_proj's raw
// output. One invocation per output column pair for NT tokens: weight rows read coalesced, a_g of those
// tokens in workgroup memory.

override W_F16: bool = true;
override DL: u32 = 128u; // latent width: a constant so the weight loop unrolls and keeps loads in flight

const WG: u32 = 64u;
const NT: u32 = 4u;
const MAX_DL: u32 = 512u;

struct Params {
  n: u32,
  nq: u32,
  dl: u32,
  e: u32,
  gate_stride: u32, // elements between tokens' gate rows (H when dense; wider inside a fused projection row)
  gate_off: u32,    // where the gate starts in its row
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;          // [n, nq, dl] f32
@group(0) @binding(2) var<storage, read> w: array<u32>;          // v_b_proj raw [nq, dl, e·dl], f16 pairs or f32
@group(0) @binding(3) var<storage, read> gate: array<f32>;       // [n, gate_stride] f32: H = nq·e·dl values at gate_off, before the sigmoid
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // [n, H] f32

var<workgroup> as_: array<f32, NT * MAX_DL>; // a_g of NT tokens

fn load_w(idx: u32) -> vec2<f32> {
  if (W_F16) {
    return unpack2x16float(w[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(w[idx]), bitcast<f32>(w[idx + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.y;
  let t0 = wg.z * NT;
  let nt = min(NT, p.n - t0);
  let width = p.e * p.dl;
  let hidden = p.nq * width;
  for (var i = tid; i < NT * p.dl; i += WG) {
    let t = i / p.dl;
    var x = 0.0;
    if (t < nt) {
      x = a[((t0 + t) * p.nq + g) * p.dl + i % p.dl];
    }
    as_[t * MAX_DL + i % p.dl] = x;
  }
  workgroupBarrier();

  let c = (wg.x * WG + tid) * 2u;
  if (c >= width) {
    return;
  }
  // The residual tile: column c of the group's output repeats latent element c mod dl.
  var acc: array<vec2<f32>, NT>;
  for (var t = 0u; t < NT; t++) {
    acc[t] = vec2<f32>(as_[t * MAX_DL + c % p.dl], as_[t * MAX_DL + (c + 1u) % p.dl]);
  }
  for (var r = 0u; r < DL; r++) {
    let wv = load_w((g * p.dl + r) * width + c);
    for (var t = 0u; t < NT; t++) {
      acc[t] += as_[t * MAX_DL + r] * wv;
    }
  }
  for (var t = 0u; t < nt; t++) {
    let o = (t0 + t) * hidden + g * width + c;
    let gi = (t0 + t) * p.gate_stride + p.gate_off + g * width + c;
    let gv = vec2<f32>(gate[gi], gate[gi + 1u]);
    let y = acc[t] / (1.0 + exp(-gv));
    out[o] = y.x;
    out[o + 1u] = y.y;
  }
}
