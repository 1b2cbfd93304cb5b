// MLA value up-projection after attending over the latent: o_h = W_UV_h · a_h, W_UV_h = rows
// [h·(d_nope+d_v) + d_nope, (h+1)·(d_nope+d_v)) of kv_b_proj [n_h·(d_nope+d_v), d_c]. Each workgroup
// computes RPW output rows of one head for NT tokens: LPR threads per row stride over the row's column
// pairs (coalesced), then the lanes are summed through workgroup memory.

override W_F16: bool = true;
override DCL: u32 = 512u; // = d_c: a constant so the row loop unrolls and keeps loads in flight

const WG: u32 = 64u;
const RPW: u32 = 4u;  // rows per workgroup
const LPR: u32 = 16u; // lanes per row = WG / RPW
const NT: u32 = 4u;   // tokens per workgroup

struct Params {
  n: u32,
  nh: u32,
  d_nope: u32,
  d_v: u32,
  d_c: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;          // [n, nh, d_c] f32, attended latent
@group(0) @binding(2) var<storage, read> w: array<u32>;          // kv_b_proj [nh·(d_nope+d_v), d_c]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [n, nh, d_v] f32

var<workgroup> part: array<f32, WG * NT>; // [RPW rows, LPR lanes, NT tokens] lane sums

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
  let rl = tid / LPR;
  let lane = tid % LPR;
  let r = wg.x * RPW + rl;
  let rc = min(r, p.d_v - 1u); // rows past the end read a valid row and store nothing
  let wrow = (h * (p.d_nope + p.d_v) + p.d_nope + rc) * p.d_c;
  var acc: array<f32, NT>;
  for (var t = 0u; t < NT; t++) {
    acc[t] = 0.0;
  }
  for (var c = lane * 2u; c < DCL; c += LPR * 2u) {
    let wv = load_w(wrow + c);
    for (var t = 0u; t < nt; t++) {
      let ai = ((t0 + t) * p.nh + h) * p.d_c + c;
      acc[t] += wv.x * a[ai] + wv.y * a[ai + 1u];
    }
  }
  for (var t = 0u; t < NT; t++) {
    part[tid * NT + t] = acc[t];
  }
  workgroupBarrier();
  // Thread (row rl, token t) for t < NT sums the LPR lanes of its row.
  if (lane < nt && r < p.d_v) {
    var s = 0.0;
    for (var l = 0u; l < LPR; l++) {
      s += part[(rl * LPR + l) * NT + lane];
    }
    out[((t0 + lane) * p.nh + h) * p.d_v + r] = s;
  }
}
