// RMSNorm, one workgroup per row (grid folded to 2-D for many rows): out = x · rsqrt(mean(x²) + eps) · w, in f32.
// RESIDUAL variant: first h += delta (the residual add), writing h back, then normalises h; this
// saves the separate add pass between blocks.
// Rows are addressed with a stride and offset (elements) so a slice of a wider row can be normalised
// (e.g. MLA's 512-wide latent inside a 576-wide kv_a output); delta shares x's addressing.

override W_F16: bool = true;
override RESIDUAL: bool = false;

const WG: u32 = 256u;

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  x_stride: u32,
  x_offset: u32,
  out_stride: u32,
  out_offset: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;      // [rows, x_stride] (h when RESIDUAL)
@group(0) @binding(2) var<storage, read> delta: array<f32>;        // [rows, x_stride], RESIDUAL only
@group(0) @binding(3) var<storage, read> w: array<u32>;            // [dim] f16 pairs or f32
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [rows, out_stride]

var<workgroup> red: array<f32, WG>;

fn wload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(w[i]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Rows fold into a 2-D grid past 65535 (per-head norms over a long prefill).
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) {
    return;
  }
  let xb = row * p.x_stride + p.x_offset;
  var ss = 0.0;
  for (var j = lid; j < p.dim; j += WG) {
    var v = x[xb + j];
    if (RESIDUAL) {
      v += delta[xb + j];
      x[xb + j] = v;
    }
    ss += v * v;
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(red[0] / f32(p.dim) + p.eps);
  let ob = row * p.out_stride + p.out_offset;
  for (var j = lid; j < p.dim; j += WG) {
    out[ob + j] = x[xb + j] * scale * wload(j);
  }
}
