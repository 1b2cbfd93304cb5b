// GTA value decoder fused with its gate: for each query group g and token,
//   out_g = (tile(a_g, e) + a_g · W_vb[g]) ⊙ sigmoid(gate_g)
// where a_g [d_l] is the attended latent, W_vb is v_b_proj's raw memory read row-major as
// [n_q, d_l, e·d_l] (a reshape of the [e·d_l, n_q·d_l] tensor, not a transpose) and gate is g_proj's raw
// output. Two entry points: `main` for decode (n = 1, loads in flight) and short prefills, `main_tokens`
// for longer ones (below).
// main: a workgroup owns CO groups of 8 output columns of one group g for NT tokens; its RS·CO
// threads split the d_l-long sum into RS row slices (thread (rs, co) takes rows rs, rs + RS, ...), each
// loading its 8 columns of a row as one 16-byte word (f16; two for f32), so a decode call (n = 1) has
// several independent loads in flight per thread. The RS partial sums of each column meet in workgroup
// memory, where the residual and gate are applied. Consecutive threads take consecutive words of one
// row (coalesced whatever the subgroup size; no subgroup builtins).

override W_F16: bool = true;
// VEC: e·d_l % 8 == 0 (f16) or % 4 (f32), so every 8-column group is whole 16-byte words. Otherwise the
// scalar path reads column pairs (e·d_l is even) and masks the last group.
override VEC: bool = true;
override NT: u32 = 1u;   // tokens per workgroup, 1..4
override RS: u32 = 32u;  // row slices
override CO: u32 = 4u;   // 8-column groups per workgroup
// KR > 0 (hardware drivers): d_l as a pipeline constant, so the row loop has a constant trip count the
// driver unrolls with every load issued up front. 0 reads it from the uniforms (software drivers).
override KR: u32 = 0u;
override WGS: u32 = RS * CO;
override M: u32 = CO * 8u * NT; // outputs per workgroup: [NT tokens, CO·8 columns]

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
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;    // v_b_proj raw [nq, dl, e·dl], f16 pairs or f32
@group(0) @binding(3) var<storage, read> gate: array<f32>;       // [n, gate_stride] f32: H = nq·e·dl values at gate_off, before the sigmoid
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // [n, H] f32

var<workgroup> part: array<f32, RS * M>; // [RS row slices, M outputs] partial sums

// W8, load8, store8, fma8, slice_sum: kernels/common/row_slices.wgsl (appended by the op).

@compute @workgroup_size(WGS)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.y;
  let t0 = wg.z * NT;
  let nt = min(NT, p.n - t0);
  let width = p.e * p.dl;
  let hidden = p.nq * width;

  let co = tid % CO;
  let rs = tid / CO;
  let c = (wg.x * CO + co) * 8u; // first of this thread's 8 columns
  let valid = select(0u, min(8u, width - c), c < width);
  let cc = select(0u, c, c < width); // columns past the end read column 0 and store nothing
  // a_g of token t (clamped to the last real token: padding tokens compute and store nothing)
  let ab0 = (t0 * p.nq + g) * p.dl;
  let ab1 = ((t0 + min(1u, nt - 1u)) * p.nq + g) * p.dl;
  let ab2 = ((t0 + min(2u, nt - 1u)) * p.nq + g) * p.dl;
  let ab3 = ((t0 + min(3u, nt - 1u)) * p.nq + g) * p.dl;
  var a0 = W8(vec4f(0.0), vec4f(0.0));
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  let kr = select(p.dl, KR, KR > 0u);
  let kpt = (kr + RS - 1u) / RS;
  for (var k = 0u; k < kpt; k++) {
    let r = rs + k * RS;
    if (r < kr) {
      let wv = load8((g * p.dl + r) * width + cc, valid);
      a0 = fma8(a0, a[ab0 + r], wv);
      if (NT > 1u) {
        a1 = fma8(a1, a[ab1 + r], wv);
      }
      if (NT > 2u) {
        a2 = fma8(a2, a[ab2 + r], wv);
      }
      if (NT > 3u) {
        a3 = fma8(a3, a[ab3 + r], wv);
      }
    }
  }
  let pb = rs * M + co * 8u;
  store8(pb, a0);
  if (NT > 1u) {
    store8(pb + CO * 8u, a1);
  }
  if (NT > 2u) {
    store8(pb + 2u * CO * 8u, a2);
  }
  if (NT > 3u) {
    store8(pb + 3u * CO * 8u, a3);
  }
  workgroupBarrier();

  // Output i = (token, column) sums its RS slices (four independent chains), adds the residual tile
  // (column c of the group's output repeats latent element c mod dl) and applies the gate.
  for (var i = tid; i < M; i += WGS) {
    let s = slice_sum(i);
    let t = i / (CO * 8u);
    let col = wg.x * CO * 8u + i % (CO * 8u);
    if (t < nt && col < width) {
      let tok = t0 + t;
      let x = a[(tok * p.nq + g) * p.dl + col % p.dl] + s;
      let gv = gate[tok * p.gate_stride + p.gate_off + g * width + col];
      out[tok * hidden + g * width + col] = x / (1.0 + exp(-gv));
    }
  }
}

// ---- Prefill: main_tokens ----
// The former kernel, kept for prefill past a few dozen tokens: one invocation per output column pair
// for TT tokens, the whole d_l sum in the thread (no workgroup reduction), a_g of the TT tokens in
// workgroup memory, each weight pair loaded once (4 bytes) for all of them. H200 (small-kbench): n = 512
// in 20 µs against 34+ for the best splits of `main`. Its weights are read through a 4-byte view of
// binding 2 (w1), as before: the same loop reading them through the 16-byte view `w` (a component
// of a vec4 each) measured 5x slower at n = 4 (58 against 11 µs).

override DL: u32 = 128u; // = d_l, main_tokens' row loop (a constant: it unrolls)

@group(0) @binding(2) var<storage, read> w1: array<u32>; // v_b_proj as above, 4-byte view (main_tokens only)

fn load_w1(idx: u32) -> vec2f {
  if (W_F16) {
    return unpack2x16float(w1[idx / 2u]);
  }
  return vec2f(bitcast<f32>(w1[idx]), bitcast<f32>(w1[idx + 1u]));
}

const WGT: u32 = 64u;
const TT: u32 = 4u;       // tokens per workgroup
const MAX_DL: u32 = 512u;

var<workgroup> as_: array<f32, TT * MAX_DL>; // a_g of TT tokens

@compute @workgroup_size(WGT)
fn main_tokens(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.y;
  let t0 = wg.z * TT;
  let nt = min(TT, p.n - t0);
  let width = p.e * p.dl;
  let hidden = p.nq * width;
  for (var i = tid; i < TT * p.dl; i += WGT) {
    let t = i / p.dl;
    var x = 0.0;
    if (t < nt) {
      x = a[((t0 + t) * p.nq + g) * p.dl + i % p.dl];
    }
    as_[t * MAX_DL + i % p.dl] = x;
  }
  workgroupBarrier();

  let c = (wg.x * WGT + tid) * 2u;
  if (c >= width) {
    return;
  }
  // The residual tile: column c of the group's output repeats latent element c mod dl.
  var acc: array<vec2f, TT>;
  for (var t = 0u; t < TT; t++) {
    acc[t] = vec2f(as_[t * MAX_DL + c % p.dl], as_[t * MAX_DL + (c + 1u) % p.dl]);
  }
  for (var r = 0u; r < DL; r++) {
    let wv = load_w1((g * p.dl + r) * width + c);
    for (var t = 0u; t < TT; t++) {
      acc[t] += as_[t * MAX_DL + r] * wv;
    }
  }
  for (var t = 0u; t < nt; t++) {
    let o = (t0 + t) * hidden + g * width + c;
    let gi = (t0 + t) * p.gate_stride + p.gate_off + g * width + c;
    let gv = vec2f(gate[gi], gate[gi + 1u]);
    let y = acc[t] / (1.0 + exp(-gv));
    out[o] = y.x;
    out[o + 1u] = y.y;
  }
}
