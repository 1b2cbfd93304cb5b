// Tiled matmul on subgroup matrices (tensor cores) for prefill: Y[n, out] = X[n, in] · Wᵀ (+ bias)
// (+ Y with FLAG_ACCUM), W row-major [out, in] f16 (pairs in u32, as in kernels/matmul.wgsl), X and Y f32.
// X tiles are converted to f16 as they are staged, products accumulate in f32: the result equals the
// f64 product of the f16-rounded X and W up to f32 accumulation error (the f16 rounding of X, relative
// 2^-11 per element, is this path's only extra error over kernels/matmul.wgsl).
//
// A workgroup of SGM × SGN subgroups of 32 lanes computes a BM × BN tile (BM = SGM·FM·16 tokens,
// BN = SGN·FN·16 outputs); each subgroup an (FM·16) × (FN·16) block as FM × FN 16×16 result fragments,
// so every left fragment is reused FN times and every right fragment FM times. The K loop steps BK = 32
// at a time: all lanes stage the X tile (16-byte loads, f32 → f16) and the W tile (16-byte loads of
// 8 f16) into workgroup memory, rows padded to 40 halves (80 bytes: the 16 rows of a fragment fall in
// distinct banks); the next tile's global loads are issued into registers before the current tile's
// multiplies (register double buffering, one workgroup buffer). FLAG_WDIRECT: right fragments are read
// straight from the weight rows as a column-major K × N matrix (Wᵀ, stride in_dim) instead of staged;
// the host sets it only when in_dim % 16 == 0, and only column tiles wholly inside out_dim use it.
//
// Several subgroups per workgroup each load/store at their own offsets: Tint's subgroup-matrix
// uniformity check wants workgroup-uniform offsets, a conservative rule (the offsets are uniform per
// subgroup, which is what the hardware needs); the diagnostic below turns it off.
//
// Edges: X rows ≥ n, W rows ≥ out and k ≥ in are staged as zeros (never read); a tile wholly inside
// [n, out] without bias stores its fragments straight to Y (FLAG_ACCUM: the fragments start from Y);
// any other tile stores each fragment to workgroup memory and its lanes write the in-range elements
// with bias and accumulation. Subgroup size must be 32 (the host checks; NVIDIA's is).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);

override SGM: u32 = 2u; // subgroups along tokens
override SGN: u32 = 4u; // subgroups along outputs
override FM: u32 = 4u;  // 16-token fragments per subgroup (≤ 4)
override FN: u32 = 2u;  // 16-output fragments per subgroup (≤ 4); FM·FN ≤ 8

const SG: u32 = 32u;
const BK: u32 = 32u;
const XS: u32 = 40u; // staged row stride in halves

override NSG: u32 = SGM * SGN;
override WG: u32 = NSG * SG;
override BM: u32 = SGM * FM * 16u;
override BN: u32 = SGN * FN * 16u;
override XV: u32 = BM * BK / (4u * WG); // vec4<f32> loads of X per lane per K tile (≤ 8)
override WV: u32 = BN * BK / (8u * WG); // vec4<u32> loads of W per lane per K tile (≤ 8)

const FLAG_BIAS: u32 = 1u;    // + bias[o]
const FLAG_ACCUM: u32 = 2u;   // + y (the previous contents)
const FLAG_XVEC: u32 = 4u;    // x_stride and x_offset are multiples of 4 (16-byte X loads)
const FLAG_WDIRECT: u32 = 8u; // right fragments from global W (in_dim % 16 == 0)

struct Params {
  n: u32,
  out_dim: u32,
  in_dim: u32,
  x_stride: u32,
  x_offset: u32,
  y_stride: u32,
  y_offset: u32,
  flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;  // [out_dim, in_dim] f16, 8 per entry
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;  // [n, x_stride] f32
@group(0) @binding(3) var<storage, read> bias: array<u32>;     // [out_dim] f16 pairs, FLAG_BIAS only
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // [n, y_stride]
@group(0) @binding(5) var<storage, read> wh: array<f16>;       // the same buffer as w, as halves

var<workgroup> xs: array<f16, BM * XS>;  // [token, k] of the K tile
var<workgroup> ws: array<f16, BN * XS>;  // [out, k] of the K tile (Wᵀ column-major)
var<workgroup> cs: array<f32, NSG * 256u>; // one 16×16 f32 fragment per subgroup (edge tiles)

var<private> xr: array<vec4<f32>, 8>;
var<private> wr: array<vec4<u32>, 8>;

// The f16 bits of W element `i` (flat [out, in] index).
fn wbits(i: u32) -> u32 {
  let word = i >> 1u;
  return (w[word >> 2u][word & 3u] >> ((i & 1u) * 16u)) & 0xffffu;
}

fn bload(c: u32) -> f32 {
  return unpack2x16float(bias[c >> 1u])[c & 1u];
}

// Global loads of the K tile at k0 into registers (zeros outside [n, out, in]).
fn load_tile(k0: u32, row0: u32, col0: u32, tid: u32, xvec: bool, wdir: bool) {
  for (var i = 0u; i < XV; i++) {
    let e = tid + WG * i;
    let row = row0 + e / (BK / 4u);
    let k = k0 + 4u * (e % (BK / 4u));
    var v = vec4<f32>(0.0);
    if (row < p.n) {
      let base = row * p.x_stride + p.x_offset + k;
      if (xvec && k + 4u <= p.in_dim) {
        v = x[base >> 2u];
      } else {
        for (var j = 0u; j < 4u; j++) {
          if (k + j < p.in_dim) {
            v[j] = x[(base + j) >> 2u][(base + j) & 3u];
          }
        }
      }
    }
    xr[i] = v;
  }
  if (wdir) {
    return;
  }
  for (var i = 0u; i < WV; i++) {
    let e = tid + WG * i;
    let col = col0 + e / (BK / 8u);
    let k = k0 + 8u * (e % (BK / 8u));
    var u = vec4<u32>(0u);
    if (col < p.out_dim) {
      let base = col * p.in_dim + k;
      if ((p.in_dim & 7u) == 0u && k + 8u <= p.in_dim) {
        u = w[base >> 3u];
      } else {
        for (var j = 0u; j < 8u; j++) {
          if (k + j < p.in_dim) {
            u[j >> 1u] |= wbits(base + j) << ((j & 1u) * 16u);
          }
        }
      }
    }
    wr[i] = u;
  }
}

// Registers → workgroup memory (X converted to f16).
fn stage_tile(tid: u32, wdir: bool) {
  for (var i = 0u; i < XV; i++) {
    let e = tid + WG * i;
    let b = (e / (BK / 4u)) * XS + 4u * (e % (BK / 4u));
    let v = vec4<f16>(xr[i]);
    xs[b] = v.x;
    xs[b + 1u] = v.y;
    xs[b + 2u] = v.z;
    xs[b + 3u] = v.w;
  }
  if (wdir) {
    return;
  }
  for (var i = 0u; i < WV; i++) {
    let e = tid + WG * i;
    let b = (e / (BK / 8u)) * XS + 8u * (e % (BK / 8u));
    let u = wr[i];
    let h0 = bitcast<vec2<f16>>(u.x);
    let h1 = bitcast<vec2<f16>>(u.y);
    let h2 = bitcast<vec2<f16>>(u.z);
    let h3 = bitcast<vec2<f16>>(u.w);
    ws[b] = h0.x;
    ws[b + 1u] = h0.y;
    ws[b + 2u] = h1.x;
    ws[b + 3u] = h1.y;
    ws[b + 4u] = h2.x;
    ws[b + 5u] = h2.y;
    ws[b + 6u] = h3.x;
    ws[b + 7u] = h3.y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let sg = tid / SG;
  let lane = tid % SG;
  let sgm = sg % SGM;
  let sgn = sg / SGM;
  let row0 = wid.x * BM; // x: token tiles, so neighbouring workgroups share a W tile in L2
  let col0 = wid.y * BN;
  let interior = row0 + BM <= p.n && col0 + BN <= p.out_dim;
  let fast = interior && (p.flags & FLAG_BIAS) == 0u;
  let wdir = (p.flags & FLAG_WDIRECT) != 0u && col0 + BN <= p.out_dim;
  let xvec = (p.flags & FLAG_XVEC) != 0u;
  let mr = row0 + sgm * FM * 16u; // this subgroup's first token
  let mc = col0 + sgn * FN * 16u; // and first output

  var acc: array<subgroup_matrix_result<f32, 16, 16>, 8>;
  if (fast && (p.flags & FLAG_ACCUM) != 0u) {
    for (var i = 0u; i < FM; i++) {
      for (var j = 0u; j < FN; j++) {
        let off = (mr + 16u * i) * p.y_stride + p.y_offset + mc + 16u * j;
        acc[i * FN + j] = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&y, off, p.y_stride);
      }
    }
  }

  load_tile(0u, row0, col0, tid, xvec, wdir);
  for (var k0 = 0u; k0 < p.in_dim; k0 += BK) {
    stage_tile(tid, wdir);
    workgroupBarrier();
    if (k0 + BK < p.in_dim) {
      load_tile(k0 + BK, row0, col0, tid, xvec, wdir);
    }
    let kmax = min(BK, p.in_dim - k0);
    for (var kk = 0u; kk < kmax; kk += 16u) {
      var a: array<subgroup_matrix_left<f16, 16, 16>, 4>;
      for (var i = 0u; i < FM; i++) {
        let off = (sgm * FM * 16u + 16u * i) * XS + kk;
        a[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xs, off, XS);
      }
      for (var j = 0u; j < FN; j++) {
        var b: subgroup_matrix_right<f16, 16, 16>;
        if (wdir) {
          let off = (mc + 16u * j) * p.in_dim + k0 + kk;
          b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&wh, off, p.in_dim);
        } else {
          let off = (sgn * FN * 16u + 16u * j) * XS + kk;
          b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, off, XS);
        }
        for (var i = 0u; i < FM; i++) {
          acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(a[i], b, acc[i * FN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  if (fast) {
    for (var i = 0u; i < FM; i++) {
      for (var j = 0u; j < FN; j++) {
        let off = (mr + 16u * i) * p.y_stride + p.y_offset + mc + 16u * j;
        subgroupMatrixStore<row_major>(&y, off, acc[i * FN + j], p.y_stride);
      }
    }
    return;
  }
  for (var i = 0u; i < FM; i++) {
    for (var j = 0u; j < FN; j++) {
      subgroupMatrixStore<row_major>(&cs, sg * 256u, acc[i * FN + j], 16u);
      workgroupBarrier();
      for (var e = lane; e < 256u; e += SG) {
        let r = mr + 16u * i + e / 16u;
        let c = mc + 16u * j + e % 16u;
        if (r < p.n && c < p.out_dim) {
          var o = cs[sg * 256u + e];
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
      workgroupBarrier();
    }
  }
}
