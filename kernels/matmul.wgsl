// Tiled matmul for prefill: Y[n, out] = X[n, in] · Wᵀ (+ bias) (+ Y with FLAG_ACCUM), W row-major
// [out, in] as in HF checkpoints. A workgroup of 16×16 threads computes a 64×64 tile of Y, each
// thread a 4×4 block, stepping through `in` 16 at a time through workgroup memory. Edges (any n,
// in, out) load zeros and skip stores, so no shape needs padding.

override W_F16: bool = true;

// Params, FLAG_BIAS, FLAG_ACCUM: kernels/common/linear_params.wgsl (appended by the op).

const TILE: u32 = 64u;
const BK: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;            // [out_dim, in_dim] f16 pairs or f32
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [n, x_stride]
@group(0) @binding(3) var<storage, read> bias: array<u32>;         // [out_dim] like w, FLAG_BIAS only
@group(0) @binding(4) var<storage, read_write> y: array<f32>;      // [n, y_stride]

// Operand tiles as [k][16] vec4: entry (k, q) holds rows 4q..4q+3 of the tile at depth k, so each
// thread's inner step is two vec4 reads and four vec4 FMAs (no dynamically indexed private arrays,
// which also keeps shader compilation on software drivers fast).
var<workgroup> xs: array<array<vec4f, 16>, BK>; // [k, token / 4]
var<workgroup> ws: array<array<vec4f, 16>, BK>; // [k, out / 4]

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
  var acc0 = vec4f(0.0); // token 4·ty + 0, outputs 4·tx .. 4·tx + 3
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
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
      xs[kk][m / 4u][m % 4u] = xv;
      var wv = 0.0;
      if (col0 + m < p.out_dim && k < p.in_dim) {
        wv = wload((col0 + m) * p.in_dim + k);
      }
      ws[kk][m / 4u][m % 4u] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[kk][l.y];
      let b = ws[kk][l.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  store(row0 + l.y * 4u, col0 + l.x * 4u, acc0);
  store(row0 + l.y * 4u + 1u, col0 + l.x * 4u, acc1);
  store(row0 + l.y * 4u + 2u, col0 + l.x * 4u, acc2);
  store(row0 + l.y * 4u + 3u, col0 + l.x * 4u, acc3);
}

// Writes outputs c0 .. c0 + 3 of token r, skipping those past the edges.
fn store(r: u32, c0: u32, v: vec4f) {
  if (r >= p.n) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c < p.out_dim) {
      var o = v[j];
      if ((p.flags & FLAG_BIAS) != 0u) {
        o += bload(c);
      }
      let yi = r * p.y_stride + p.y_offset + c;
      if ((p.flags & FLAG_ACCUM) != 0u) {
        o += y[yi];
      }
      y[yi] = o;
    }
  }
}
