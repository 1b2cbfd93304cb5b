// GEMV for decode: y[b, o] = Σ_i W[o, i] · x[b, i] (+ bias[o]) (+ y[b, o] with FLAG_ACCUM), for BATCH
// (1..8) input rows that share one pass over W, the memory-bound part.
// TPR threads cooperate on one output row (a workgroup holds 256 / TPR rows): consecutive lanes read
// consecutive 16-byte words of the row, so a warp's loads coalesce whatever the subgroup size, and
// the partial sums meet in a workgroup-memory tree (no subgroup builtins: the result must not depend
// on the subgroup size). VEC needs 16-byte aligned rows (in % 8 == 0 for f16, % 4 for f32, and x's
// stride and offset % 4 == 0); otherwise the scalar path reads one element at a time.
// ACT applies the MLP's activation to x as it is read (the down projection of a decode step, so the
// activation costs no dispatch of its own): 1 = SwiGLU, x = silu(x[i]) · x[i + act_offset] (gate ‖ up
// halves of one row); 2 = ReLU², x = max(x[i], 0)².
// NORM (one row, no ACT) applies the block's RMSNorm to x as it is read: y = (W·(g ⊙ x)) · rsqrt(mean(x²)
// + eps), g = the norm weight. The lanes of every output row read all of x anyway, so each row's lanes
// sum x² alongside the dot product and the normalisation costs no pass of its own (a decode step
// then needs no separate RMSNorm dispatch between blocks).

override W_F16: bool = true;
override VEC: bool = false;
override BATCH: u32 = 1u;
override TPR: u32 = 256u;
override ACT: u32 = 0u;
override NORM: bool = false;
// NV > 0 (hardware drivers, f16 vector path): the row's 16-byte words as a pipeline constant, so each
// lane's KPL loads are a loop of constant trip count that the driver unrolls with every load issued
// up front. NV = 0 reads the length from the uniforms (software drivers, where full unrolls compile slowly).
override NV: u32 = 0u;
// ROPE (decode, one row, rows in rotation pairs): the epilogue of a fused q‖k‖v projection. The GPU
// weights keep each query/key head's rows as adjacent rotation pairs (2i, 2i+1) (weights/rope_pairs.ts),
// so a pair is two neighbouring rows of one workgroup: rows below rot_rows turn by pos·theta^(−2i/rot_dim)
// (i = the pair within its head), and rows [store_row0, store_row1) — the keys and values — also go
// into the KV cache at element cache_base + (row − store_row0). One dispatch instead of GEMV, RoPE, store.
override ROPE: bool = false;
override KV_F16: bool = true; // the cache's format (ROPE)
override KPL: u32 = (NV + TPR - 1u) / TPR;

// Uniform flags rather than override constants: the branches are uniform and cheap, and fewer
// pipeline variants keep compile time down (seconds each on software drivers).
const FLAG_BIAS: u32 = 1u;   // + bias[o]
const FLAG_ACCUM: u32 = 2u;  // + y (the previous contents)

const WG: u32 = 256u;
const MAX_BATCH: u32 = 8u;

struct Params {
  out_dim: u32,
  in_dim: u32,
  x_stride: u32,
  x_offset: u32,
  y_stride: u32,
  y_offset: u32,
  flags: u32,
  act_offset: u32, // elements from a gate to its up value (ACT 1)
  eps: f32,        // RMSNorm epsilon (NORM)
  rot_rows: u32,   // ROPE: rows [0, rot_rows) rotate (queries, then keys)
  rot_dim: u32,    // ROPE: rows per head (all rotated)
  pos: u32,        // ROPE: the token's position
  theta: f32,      // ROPE: the base
  store_row0: u32, // ROPE: rows [store_row0, store_row1) are stored into the cache
  store_row1: u32,
  cache_base: u32, // ROPE: the element of the cache row pos where row store_row0 goes
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;      // [out_dim, in_dim] f16 pairs or f32
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;      // [BATCH, x_stride] f32
@group(0) @binding(3) var<storage, read> bias: array<u32>;         // [out_dim] like w, FLAG_BIAS only
@group(0) @binding(4) var<storage, read_write> y: array<f32>;      // [BATCH, y_stride]
@group(0) @binding(5) var<storage, read> nw: array<vec4<u32>>;     // [in_dim] norm weight like w, NORM only
@group(0) @binding(6) var<storage, read_write> cache: array<u32>;  // KV cache, f16 pairs or f32 bits, ROPE only

// [RED_SLOTS, WG] partial sums: BATCH slots, or the dot, Σ x² (NORM) and the pair exchange (ROPE).
// Sized per variant: workgroup memory bounds how many workgroups an SM holds (about 48 KiB a SM on
// Dawn's H200 pipelines), and a decode GEMV needs 3 KiB, not the 8 KiB of an 8-row batch.
override RED_SLOTS: u32 = 8u;
var<workgroup> red: array<f32, RED_SLOTS * WG>;

fn wload(i: u32) -> f32 {
  if (W_F16) {
    let word = w[i >> 3u][(i >> 1u) & 3u];
    return unpack2x16float(word)[i & 1u];
  }
  return bitcast<f32>(w[i >> 2u][i & 3u]);
}

// Four norm-weight elements from element 4·j of the row (f16: half of one 16-byte word).
fn gvec(j: u32) -> vec4f {
  if (W_F16) {
    let q = nw[j >> 1u];
    if ((j & 1u) == 0u) {
      return vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
    }
    return vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
  }
  return bitcast<vec4f>(nw[j]);
}

fn gload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(nw[i >> 3u][(i >> 1u) & 3u])[i & 1u];
  }
  return bitcast<f32>(nw[i >> 2u][i & 3u]);
}

fn bload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(bias[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(bias[i]);
}

// Same formulas as kernels/activation.wgsl, so the fused and unfused paths round alike.
fn act4(a: vec4f, i: u32) -> vec4f {
  if (ACT == 1u) {
    return a * (1.0 / (1.0 + exp(-a))) * x[i + p.act_offset / 4u];
  }
  if (ACT == 2u) {
    let m = max(a, vec4f(0.0));
    return m * m;
  }
  return a;
}

fn xvec(i: u32) -> vec4f {
  return act4(x[i], i);
}

fn xload(i: u32) -> f32 {
  let a = x[i >> 2u][i & 3u];
  if (ACT == 1u) {
    let j = i + p.act_offset;
    return a * (1.0 / (1.0 + exp(-a))) * x[j >> 2u][j & 3u];
  }
  if (ACT == 2u) {
    let m = max(a, 0.0);
    return m * m;
  }
  return a;
}

// Rows b ≥ BATCH contribute nothing; with BATCH a pipeline constant these calls fold away, so the
// accumulators stay in two vec4 registers instead of a dynamically indexed (spilled) array.
fn dot8(b: u32, k: u32, lo: vec4f, hi: vec4f) -> f32 {
  if (b >= BATCH) {
    return 0.0;
  }
  let xv = (b * p.x_stride + p.x_offset) / 4u + 2u * k;
  return dot(lo, xvec(xv)) + dot(hi, xvec(xv + 1u));
}

fn dot4(b: u32, k: u32, wv: vec4f) -> f32 {
  if (b >= BATCH) {
    return 0.0;
  }
  return dot(wv, xvec((b * p.x_stride + p.x_offset) / 4u + k));
}

fn mul1(b: u32, i: u32, wv: f32) -> f32 {
  if (b >= BATCH) {
    return 0.0;
  }
  return wv * xload(b * p.x_stride + p.x_offset + i);
}

// One 16-byte word of f16 weights (columns 8k .. 8k+7) times x: its share of batch rows 0..3 (lo) and 4..7 (hi).
fn word_lo(q: vec4<u32>, k: u32) -> vec4f {
  let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
  let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
  return vec4f(dot8(0u, k, lo, hi), dot8(1u, k, lo, hi), dot8(2u, k, lo, hi), dot8(3u, k, lo, hi));
}

fn word_hi(q: vec4<u32>, k: u32) -> vec4f {
  let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
  let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
  return vec4f(dot8(4u, k, lo, hi), dot8(5u, k, lo, hi), dot8(6u, k, lo, hi), dot8(7u, k, lo, hi));
}

// NORM, one row: (Σ w·g·x, Σ x²) over the word's 8 columns.
fn word_norm(q: vec4<u32>, k: u32) -> vec2f {
  let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
  let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
  let xv = p.x_offset / 4u + 2u * k;
  let xa = x[xv];
  let xb = x[xv + 1u];
  return vec2f(dot(lo, xa * gvec(2u * k)) + dot(hi, xb * gvec(2u * k + 1u)), dot(xa, xa) + dot(xb, xb));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let o = (wid.y * nwg.x + wid.x) * (WG / TPR) + lid / TPR;
  var acc_lo = vec4f(0.0); // batch rows 0..3
  var acc_hi = vec4f(0.0); // batch rows 4..7
  var ss = 0.0; // Σ x² over this lane's elements (NORM)
  if (o < p.out_dim && NORM) {
    if (VEC && W_F16) {
      let nv = select(p.in_dim / 8u, NV, NV > 0u);
      let wrow = o * nv;
      // Four independent 16-byte loads in flight per lane before any is used (see the plain path).
      var acc2 = vec2f(0.0);
      var k = lane;
      if (NV > 0u) {
        for (var j = 0u; j < KPL; j++) {
          let kj = lane + j * TPR;
          if (kj < NV) {
            acc2 += word_norm(w[wrow + kj], kj);
          }
        }
        k = nv; // done
      }
      for (; k + 3u * TPR < nv; k += 4u * TPR) {
        let q0 = w[wrow + k];
        let q1 = w[wrow + k + TPR];
        let q2 = w[wrow + k + 2u * TPR];
        let q3 = w[wrow + k + 3u * TPR];
        acc2 += word_norm(q0, k) + word_norm(q1, k + TPR) + word_norm(q2, k + 2u * TPR) + word_norm(q3, k + 3u * TPR);
      }
      for (; k < nv; k += TPR) {
        acc2 += word_norm(w[wrow + k], k);
      }
      acc_lo.x = acc2.x;
      ss = acc2.y;
    } else if (VEC) {
      let nv = p.in_dim / 4u;
      let wrow = o * nv;
      let x0 = p.x_offset / 4u;
      for (var k = lane; k < nv; k += TPR) {
        let xa = x[x0 + k];
        ss += dot(xa, xa);
        acc_lo.x += dot(bitcast<vec4f>(w[wrow + k]), xa * gvec(k));
      }
    } else {
      let wrow = o * p.in_dim;
      for (var i = lane; i < p.in_dim; i += TPR) {
        let xi = x[(p.x_offset + i) >> 2u][(p.x_offset + i) & 3u];
        ss += xi * xi;
        acc_lo.x += wload(wrow + i) * xi * gload(i);
      }
    }
  } else if (o < p.out_dim) {
    if (VEC && W_F16) {
      let nv = select(p.in_dim / 8u, NV, NV > 0u); // 16-byte words per row, 8 weights each
      let wrow = o * nv;
      // Four independent 16-byte loads in flight per lane before any is used: a batch-1 GEMV of a
      // few MB is bound by how many loads are outstanding, and a one-load loop the driver does not
      // unroll keeps one (an H200 measured ~0.6 TB/s on 1280-wide rows that way).
      var k = lane;
      if (NV > 0u) {
        for (var j = 0u; j < KPL; j++) {
          let kj = lane + j * TPR;
          if (kj < NV) {
            let q = w[wrow + kj];
            acc_lo += word_lo(q, kj);
            if (BATCH > 4u) {
              acc_hi += word_hi(q, kj);
            }
          }
        }
        k = nv; // done
      }
      // (Batches past 4 rows keep the one-load loop: their 8 accumulators already give each load work,
      // and the four-fold body made software drivers compile for tens of seconds.)
      for (; BATCH <= 4u && k + 3u * TPR < nv; k += 4u * TPR) {
        let q0 = w[wrow + k];
        let q1 = w[wrow + k + TPR];
        let q2 = w[wrow + k + 2u * TPR];
        let q3 = w[wrow + k + 3u * TPR];
        acc_lo += word_lo(q0, k) + word_lo(q1, k + TPR) + word_lo(q2, k + 2u * TPR) + word_lo(q3, k + 3u * TPR);
      }
      for (; k < nv; k += TPR) {
        let q = w[wrow + k];
        acc_lo += word_lo(q, k);
        if (BATCH > 4u) {
          acc_hi += word_hi(q, k);
        }
      }
    } else if (VEC) {
      let nv = p.in_dim / 4u;
      let wrow = o * nv;
      for (var k = lane; k < nv; k += TPR) {
        let wv = bitcast<vec4f>(w[wrow + k]);
        acc_lo += vec4f(dot4(0u, k, wv), dot4(1u, k, wv), dot4(2u, k, wv), dot4(3u, k, wv));
        if (BATCH > 4u) {
          acc_hi += vec4f(dot4(4u, k, wv), dot4(5u, k, wv), dot4(6u, k, wv), dot4(7u, k, wv));
        }
      }
    } else {
      let wrow = o * p.in_dim;
      for (var i = lane; i < p.in_dim; i += TPR) {
        let wv = wload(wrow + i);
        acc_lo += vec4f(mul1(0u, i, wv), mul1(1u, i, wv), mul1(2u, i, wv), mul1(3u, i, wv));
        if (BATCH > 4u) {
          acc_hi += vec4f(mul1(4u, i, wv), mul1(5u, i, wv), mul1(6u, i, wv), mul1(7u, i, wv));
        }
      }
    }
  }
  // Constant component indices only: a dynamic index would force the accumulators to memory.
  red[lid] = acc_lo.x;
  if (NORM) { red[WG + lid] = ss; }
  if (BATCH > 1u) { red[WG + lid] = acc_lo.y; }
  if (BATCH > 2u) { red[2u * WG + lid] = acc_lo.z; }
  if (BATCH > 3u) { red[3u * WG + lid] = acc_lo.w; }
  if (BATCH > 4u) { red[4u * WG + lid] = acc_hi.x; }
  if (BATCH > 5u) { red[5u * WG + lid] = acc_hi.y; }
  if (BATCH > 6u) { red[6u * WG + lid] = acc_hi.z; }
  if (BATCH > 7u) { red[7u * WG + lid] = acc_hi.w; }
  workgroupBarrier();
  let slots = select(BATCH, 2u, NORM); // NORM: the dot and Σ x²
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var b = 0u; b < slots; b++) {
        red[b * WG + lid] += red[b * WG + lid + s];
      }
    }
    workgroupBarrier();
  }
  var v0 = 0.0; // ROPE: this row's value, before its rotation
  if (lane == 0u && o < p.out_dim) {
    for (var b = 0u; b < BATCH; b++) {
      var v = red[b * WG + lid];
      if (NORM) {
        v *= inverseSqrt(red[WG + lid] / f32(p.in_dim) + p.eps);
      }
      if ((p.flags & FLAG_BIAS) != 0u) {
        v += bload(o);
      }
      let yi = b * p.y_stride + p.y_offset + o;
      if ((p.flags & FLAG_ACCUM) != 0u) {
        v += y[yi];
      }
      if (ROPE) {
        v0 = v;
      } else {
        y[yi] = v;
      }
    }
  }
  if (ROPE) {
    // Row r of this workgroup meets its pair partner r + 1 through workgroup memory (slot 2 of red is
    // free: ROPE runs one row of x).
    let r = lid / TPR;
    if (lane == 0u) {
      red[2u * WG + r] = v0;
    }
    workgroupBarrier();
    if (lane == 0u && (r & 1u) == 0u && o < p.out_dim) {
      var a = v0;
      var c = red[2u * WG + r + 1u];
      if (o < p.rot_rows) {
        let i = (o % p.rot_dim) / 2u;
        let r = rope_turn(a, c, p.pos, i, p.rot_dim, p.theta); // kernels/common/rope_angle.wgsl
        a = r.x;
        c = r.y;
      }
      y[p.y_offset + o] = a;
      y[p.y_offset + o + 1u] = c;
      if (o >= p.store_row0 && o < p.store_row1) {
        let d = p.cache_base + o - p.store_row0;
        if (KV_F16) {
          cache[d / 2u] = pack2x16float(vec2f(a, c));
        } else {
          cache[d] = bitcast<u32>(a);
          cache[d + 1u] = bitcast<u32>(c);
        }
      }
    }
  }
}
