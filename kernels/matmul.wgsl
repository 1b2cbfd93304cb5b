// Tiled matmul for prefill: Y[n, out] = X[n, in] · Wᵀ (+ bias) (+ Y when ACCUM), W row-major
// [out, in] as in HF checkpoints. A workgroup of 16×16 threads computes a 64×64 tile of Y, each
// thread a 4×4 block, stepping through `in` 16 at a time through workgroup memory. Edges (any n,
// in, out) load zeros and skip stores, so no shape needs padding.

override W_F16: bool = true;
override HAS_BIAS: bool = false;
override ACCUM: bool = false;

const TILE: u32 = 64u;
const BK: u32 = 16u;

struct Params {
  n: u32,
  out_dim: u32,
  in_dim: u32,
  x_stride: u32,
  x_offset: u32,
  y_stride: u32,
  y_offset: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;            // [out_dim, in_dim] f16 pairs or f32
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [n, x_stride]
@group(0) @binding(3) var<storage, read> bias: array<u32>;         // [out_dim] like w, HAS_BIAS only
@group(0) @binding(4) var<storage, read_write> y: array<f32>;      // [n, y_stride]

var<workgroup> xs: array<array<f32, TILE>, BK>; // [k, token]
var<workgroup> ws: array<array<f32, TILE>, BK>; // [k, out]

fn wload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(w[i]);
}

fn bload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(bias[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(bias[i]);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) l: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col0 = wid.x * TILE; // first output feature of the tile
  let row0 = wid.y * TILE; // first token of the tile
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.in_dim; k0 += BK) {
    // 64×16 elements of each operand, 4 per thread; 16 consecutive threads read one row's 16 k.
    for (var r = 0u; r < 4u; r++) {
      let e = lid + 256u * r;
      let m = e / BK;
      let kk = e % BK;
      let k = k0 + kk;
      var xv = 0.0;
      if (row0 + m < p.n && k < p.in_dim) {
        xv = x[(row0 + m) * p.x_stride + p.x_offset + k];
      }
      xs[kk][m] = xv;
      var wv = 0.0;
      if (col0 + m < p.out_dim && k < p.in_dim) {
        wv = wload((col0 + m) * p.in_dim + k);
      }
      ws[kk][m] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[kk][l.y * 4u + i];
        b[i] = ws[kk][l.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + l.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + l.x * 4u + j;
      if (r < p.n && c < p.out_dim) {
        var v = acc[i][j];
        if (HAS_BIAS) {
          v += bload(c);
        }
        let yi = r * p.y_stride + p.y_offset + c;
        if (ACCUM) {
          v += y[yi];
        }
        y[yi] = v;
      }
    }
  }
}
