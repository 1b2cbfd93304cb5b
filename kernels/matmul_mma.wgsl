// Tiled matmul on subgroup matrices (tensor cores) for prefill: Y[n, out] = X[n, in] · Wᵀ (+ bias)
// (+ Y with FLAG_ACCUM), W row-major [out, in] f16 (pairs in u32, as in kernels/matmul.wgsl), X and Y f32.
// X tiles are converted to f16 as they are staged, products accumulate in f32: the result equals the
// f64 product of the f16-rounded X and W up to f32 accumulation error (the f16 rounding of X, relative
// 2^-11 per element, is this path's only extra error over kernels/matmul.wgsl). X is scaled by
// XSCALE = 2^-4 before the rounding and the sums by 2^4 after (exact: powers of two), so activations up
// to ±1,048,064 fit f16 (a squared-ReLU or SwiGLU output past ±65504 would otherwise become ±inf);
// values below 2^-10 in magnitude land in f16's subnormals (absolute error ≤ 2^-21, nothing beside the
// 2^-12 relative error of the larger values in the same sum).
//
// A workgroup of SGM × SGN subgroups of 32 lanes computes a BM × BN tile (BM = SGM·FM·16 tokens,
// BN = SGN·FN·16 outputs); each subgroup an (FM·16) × (FN·16) block as FM × FN 16×16 result fragments,
// so every left fragment is reused FN times and every right fragment FM times: FM × FN = 4 × 2 (64
// tokens × 32 outputs per subgroup) or 4 × 4 (64 × 64), the host sets FN. The K loop steps BK = 32 at
// a time: all lanes stage the X tile (16-byte
// loads, f32 → f16) and the W tile (16-byte loads of 8 f16) into workgroup memory, rows padded to 40
// halves (80 bytes: the 16 rows of a fragment fall in distinct banks); the next tile's global loads
// are issued into registers before the current tile's multiplies (register double buffering).
//
// What was measured on an H100 (tools/bench/matmul-kbench.ts, n = 2048, 11 prefill shapes):
// - fragments as arrays indexed in loops: 14–29 TFLOP/s; as named variables: up to 60;
// - then no branch in the fragment loop (it chose staged or direct W per fragment), a constant trip
//   count (both 16-deep K steps always run: past in_dim both operands are staged zeros) and unchecked
//   vector loads for interior tiles: 113–223 TFLOP/s (the f32 kernel: 22–26);
// - right fragments read straight from the weight rows as a column-major K × N matrix (Wᵀ, stride
//   in_dim) instead of staged: correct, 10–25% slower (measured with the branchy loop), so dropped;
// - NBUF = 2 (a second workgroup buffer: the next tile is staged while others still multiply from
//   this one, one barrier per K tile instead of two): 20–40% slower, so the host uses NBUF = 1.
// The register-only tensor-core ceiling through Dawn there is 650 TFLOP/s.
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
override FM: u32 = 4u; // 16-token fragments per subgroup: 4
override FN: u32 = 2u; // 16-output fragments per subgroup: 2 or 4
override NBUF: u32 = 1u; // workgroup buffers of the K tile: 1, or 2 (one barrier per K tile)

const XSCALE: f32 = 0.0625; // 2^-4 on X as it is staged (see the header)
const XUNSCALE: f32 = 16.0;
const SG: u32 = 32u;
const BK: u32 = 32u;
const XS: u32 = 40u; // staged row stride in halves

override NSG: u32 = SGM * SGN;
override WG: u32 = NSG * SG;
override BM: u32 = SGM * FM * 16u;
override BN: u32 = SGN * FN * 16u;
override XV: u32 = BM * BK / (4u * WG); // vec4<f32> loads of X per lane per K tile (≤ 8)
override WV: u32 = BN * BK / (8u * WG); // vec4<u32> loads of W per lane per K tile (≤ 8)

// Params, FLAG_BIAS, FLAG_ACCUM: kernels/common/linear_params.wgsl (appended by the op).
const FLAG_XVEC: u32 = 4u;    // x_stride and x_offset are multiples of 4 (16-byte X loads)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;  // [out_dim, in_dim] f16, 8 per entry
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;  // [n, x_stride] f32
@group(0) @binding(3) var<storage, read> bias: array<u32>;     // [out_dim] f16 pairs, FLAG_BIAS only
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // [n, y_stride]

var<workgroup> xs: array<f16, NBUF * BM * XS>; // [buffer][token, k] of the K tile
var<workgroup> ws: array<f16, NBUF * BN * XS>; // [buffer][out, k] of the K tile (Wᵀ column-major)
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

// Global loads of the K tile at k0 into registers (zeros outside [n, out, in]). `full`: the tile lies
// inside n, out and in, and X rows are 16-byte aligned: plain vector loads, no checks.
fn load_tile(k0: u32, row0: u32, col0: u32, tid: u32, xvec: bool, full: bool) {
  if (full) {
    for (var i = 0u; i < XV; i++) {
      let e = tid + WG * i;
      xr[i] = x[((row0 + e / (BK / 4u)) * p.x_stride + p.x_offset + k0 + 4u * (e % (BK / 4u))) >> 2u];
    }
    for (var i = 0u; i < WV; i++) {
      let e = tid + WG * i;
      wr[i] = w[((col0 + e / (BK / 8u)) * p.in_dim + k0 + 8u * (e % (BK / 8u))) >> 3u];
    }
    return;
  }
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
fn stage_tile(tid: u32, xb: u32, wb: u32) {
  for (var i = 0u; i < XV; i++) {
    let e = tid + WG * i;
    let b = xb + (e / (BK / 4u)) * XS + 4u * (e % (BK / 4u));
    let v = vec4<f16>(xr[i] * XSCALE);
    xs[b] = v.x;
    xs[b + 1u] = v.y;
    xs[b + 2u] = v.z;
    xs[b + 3u] = v.w;
  }
  for (var i = 0u; i < WV; i++) {
    let e = tid + WG * i;
    let b = wb + (e / (BK / 8u)) * XS + 8u * (e % (BK / 8u));
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

fn lfrag(off: u32) -> subgroup_matrix_left<f16, 16, 16> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xs, off, XS);
}

fn rfrag(off: u32) -> subgroup_matrix_right<f16, 16, 16> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, off, XS);
}

// A result fragment's start: Y's current values (fast tiles with FLAG_ACCUM) or zeros.
fn acc0(r: u32, c: u32, ld: bool) -> subgroup_matrix_result<f32, 16, 16> {
  if (ld) {
    let y0 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&y, r * p.y_stride + p.y_offset + c, p.y_stride);
    return subgroupMatrixScalarMultiply(y0, XSCALE); // in the scaled units of the sums
  }
  return subgroup_matrix_result<f32, 16, 16>();
}

// Writes the fragment at token r, output c: straight to Y on fast tiles, else through `cs` with the
// range checks, bias and accumulation. `fast` is workgroup-uniform (the barriers).
fn put(m: subgroup_matrix_result<f32, 16, 16>, r: u32, c: u32, fast: bool, sg: u32, lane: u32) {
  if (fast) {
    subgroupMatrixStore<row_major>(&y, r * p.y_stride + p.y_offset + c, subgroupMatrixScalarMultiply(m, XUNSCALE), p.y_stride);
    return;
  }
  subgroupMatrixStore<row_major>(&cs, sg * 256u, m, 16u);
  workgroupBarrier();
  for (var e = lane; e < 256u; e += SG) {
    let rr = r + e / 16u;
    let cc = c + e % 16u;
    if (rr < p.n && cc < p.out_dim) {
      var o = cs[sg * 256u + e] * XUNSCALE;
      if ((p.flags & FLAG_BIAS) != 0u) {
        o += bload(cc);
      }
      let yi = rr * p.y_stride + p.y_offset + cc;
      if ((p.flags & FLAG_ACCUM) != 0u) {
        o += y[yi];
      }
      y[yi] = o;
    }
  }
  workgroupBarrier();
}

// What a workgroup does, from workgroup_id and the uniforms only (so workgroup-uniform: the barriers
// in `put` depend on `fast`).
struct Tile {
  row0: u32,
  col0: u32,
  fast: bool,
  full: bool, // unchecked loads (load_tile)
  xvec: bool,
  ld: bool, // fragments start from Y
}

fn tile(wid: vec3<u32>) -> Tile {
  var t: Tile;
  t.row0 = wid.x * BM; // x: token tiles, so neighbouring workgroups share a W tile in L2
  t.col0 = wid.y * BN;
  let interior = t.row0 + BM <= p.n && t.col0 + BN <= p.out_dim;
  t.fast = interior && (p.flags & FLAG_BIAS) == 0u;
  t.xvec = (p.flags & FLAG_XVEC) != 0u;
  t.full = interior && t.xvec && p.in_dim % BK == 0u;
  t.ld = t.fast && (p.flags & FLAG_ACCUM) != 0u;
  return t;
}

// Accumulators of columns 2 and 3 exist for FN = 4 only: with FN = 2 they stay copies of column 0,
// never multiplied or stored (a load from Y there would leave the subgroup's block).
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let t = tile(wid);
  let fast = t.fast;
  let sg = tid / SG;
  let lane = tid % SG;
  let mr = t.row0 + (sg % SGM) * FM * 16u; // this subgroup's first token
  let mc = t.col0 + (sg / SGM) * FN * 16u; // and first output
  var c00 = acc0(mr, mc, t.ld);
  var c01 = acc0(mr, mc + 16u, t.ld);
  var c10 = acc0(mr + 16u, mc, t.ld);
  var c11 = acc0(mr + 16u, mc + 16u, t.ld);
  var c20 = acc0(mr + 32u, mc, t.ld);
  var c21 = acc0(mr + 32u, mc + 16u, t.ld);
  var c30 = acc0(mr + 48u, mc, t.ld);
  var c31 = acc0(mr + 48u, mc + 16u, t.ld);
  var c02 = c00;
  var c03 = c00;
  var c12 = c00;
  var c13 = c00;
  var c22 = c00;
  var c23 = c00;
  var c32 = c00;
  var c33 = c00;
  if (FN > 2u) {
    c02 = acc0(mr, mc + 32u, t.ld);
    c03 = acc0(mr, mc + 48u, t.ld);
    c12 = acc0(mr + 16u, mc + 32u, t.ld);
    c13 = acc0(mr + 16u, mc + 48u, t.ld);
    c22 = acc0(mr + 32u, mc + 32u, t.ld);
    c23 = acc0(mr + 32u, mc + 48u, t.ld);
    c32 = acc0(mr + 48u, mc + 32u, t.ld);
    c33 = acc0(mr + 48u, mc + 48u, t.ld);
  }
  let xo0 = (mr - t.row0) * XS;
  let wo0 = (mc - t.col0) * XS;
  load_tile(0u, t.row0, t.col0, tid, t.xvec, t.full);
  if (NBUF > 1u) {
    stage_tile(tid, 0u, 0u);
    workgroupBarrier();
  }
  var cur = 0u; // the buffer holding this K tile
  for (var k0 = 0u; k0 < p.in_dim; k0 += BK) {
    let more = k0 + BK < p.in_dim;
    if (NBUF == 1u) {
      stage_tile(tid, 0u, 0u);
      workgroupBarrier();
    }
    if (more) {
      load_tile(k0 + BK, t.row0, t.col0, tid, t.xvec, t.full);
    }
    let xo = xo0 + cur * BM * XS;
    let wo = wo0 + cur * BN * XS;
    // Both K steps always: past in_dim both operands were staged as zeros.
    for (var kk = 0u; kk < BK; kk += 16u) {
      let a0 = lfrag(xo + kk);
      let a1 = lfrag(xo + 16u * XS + kk);
      let a2 = lfrag(xo + 32u * XS + kk);
      let a3 = lfrag(xo + 48u * XS + kk);
      let b0 = rfrag(wo + kk);
      c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
      c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
      c20 = subgroupMatrixMultiplyAccumulate(a2, b0, c20);
      c30 = subgroupMatrixMultiplyAccumulate(a3, b0, c30);
      let b1 = rfrag(wo + 16u * XS + kk);
      c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
      c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
      c21 = subgroupMatrixMultiplyAccumulate(a2, b1, c21);
      c31 = subgroupMatrixMultiplyAccumulate(a3, b1, c31);
      if (FN > 2u) {
        let b2 = rfrag(wo + 32u * XS + kk);
        c02 = subgroupMatrixMultiplyAccumulate(a0, b2, c02);
        c12 = subgroupMatrixMultiplyAccumulate(a1, b2, c12);
        c22 = subgroupMatrixMultiplyAccumulate(a2, b2, c22);
        c32 = subgroupMatrixMultiplyAccumulate(a3, b2, c32);
        let b3 = rfrag(wo + 48u * XS + kk);
        c03 = subgroupMatrixMultiplyAccumulate(a0, b3, c03);
        c13 = subgroupMatrixMultiplyAccumulate(a1, b3, c13);
        c23 = subgroupMatrixMultiplyAccumulate(a2, b3, c23);
        c33 = subgroupMatrixMultiplyAccumulate(a3, b3, c33);
      }
    }
    if (NBUF > 1u && more) {
      // The other buffer was last read before the previous barrier.
      cur = 1u - cur;
      stage_tile(tid, cur * BM * XS, cur * BN * XS);
    }
    workgroupBarrier();
  }
  put(c00, mr, mc, fast, sg, lane);
  put(c01, mr, mc + 16u, fast, sg, lane);
  put(c10, mr + 16u, mc, fast, sg, lane);
  put(c11, mr + 16u, mc + 16u, fast, sg, lane);
  put(c20, mr + 32u, mc, fast, sg, lane);
  put(c21, mr + 32u, mc + 16u, fast, sg, lane);
  put(c30, mr + 48u, mc, fast, sg, lane);
  put(c31, mr + 48u, mc + 16u, fast, sg, lane);
  if (FN > 2u) {
    put(c02, mr, mc + 32u, fast, sg, lane);
    put(c03, mr, mc + 48u, fast, sg, lane);
    put(c12, mr + 16u, mc + 32u, fast, sg, lane);
    put(c13, mr + 16u, mc + 48u, fast, sg, lane);
    put(c22, mr + 32u, mc + 32u, fast, sg, lane);
    put(c23, mr + 32u, mc + 48u, fast, sg, lane);
    put(c32, mr + 48u, mc + 32u, fast, sg, lane);
    put(c33, mr + 48u, mc + 48u, fast, sg, lane);
  }
}
