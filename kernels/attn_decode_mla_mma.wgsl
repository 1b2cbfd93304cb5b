// Flash-decoding split kernel on subgroup matrices (tensor cores on NVIDIA) for one key/value head
// shared by all (≤ 16) query heads: absorbed MLA's latent rows (576-wide keys, 512-wide values that are
// the first columns of the same rows, 16 heads). f16 cache only. One subgroup of 32 lanes per workgroup
// (Dawn wants subgroup-matrix offsets uniform over the whole workgroup), one workgroup per split of
// G·16 rows at most (G ≤ 4). It leaves the same partials as attn_decode_mqa_wide.wgsl (o unnormalised,
// then the split's max m and sum l per head), which attn_decode_combine.wgsl merges.
//
// Not the default path (ops/attn_decode.ts, MMA_DEFAULT): slower than attn_decode_mqa_wide at every
// context on the H100 it was measured on (split kernel + combine, PLM-1.8B, attn-kbench --mma:
// 17.0 / 18.4 / 22.3 / 27.5 µs at 128 / 2048 / 4096 / 8192 rows against 13.1 / 14.4 / 19.7 / 27.5).
// Where the time goes (attn-kbench --mma-ablate, split kernel alone, H100): at 128 rows (8 workgroups,
// one tile each) 13.1 µs, 7.9 without the query staging, 10.5 with the tiles loaded from workgroup
// memory instead of the cache, 2.6 with nothing but the softmax; at 8192 rows (256 workgroups of two
// tiles) 21.0, 15.7, 13.1 and 3.9. Each subgroup-matrix load and product costs about a dependent memory
// round trip in this stack, batching the loads (four k-steps of all tiles, one batch ahead) gained
// ~10%, the f16 and u32 views of the cache load alike, and one subgroup per workgroup leaves one or two
// warps per SM. Split kernel at 128 rows as it changed: loads written next to their products 13.1 µs,
// batched 11.8 (both timed without a clock warm-up), queries staged with packed stores under a branch
// 15.7, with unconditional loads 13.1 (with the warm-up; the kernels without subgroup matrices: 9.2).
// Next step, untried here: several subgroups per workgroup. `diagnostic(off,
// chromium.subgroup_matrix_uniformity)` lets each subgroup load at its own offsets (kernels/matmul_mma.wgsl
// runs 4–8 subgroups a workgroup that way), so a split could stage the queries once for four subgroups,
// give each subgroup its own 16-row tiles in the scores and its own column tiles in P·V: four times the
// warps per SM and a quarter of the dependent chain per warp.
//
//   0. q·scale → f16 [16 heads, DK] in workgroup memory (heads ≥ H are zero), packed eight to an entry;
//   1. S[16 heads, 16 rows] for each of the split's G tiles of 16 rows: DK/16 k-steps of
//      Q-tile (left, workgroup memory) × K-tile (right, loaded column-major straight from the cache,
//      stride = row stride), four k-steps of all G tiles loaded at once, one batch ahead; the G tiles
//      share the Q-tile loads and run G independent accumulators; → S in workgroup memory (f32);
//   2. softmax over the split's rows (two lanes per head): max m, P = exp(S − m) as f16 in workgroup
//      memory, l = Σ P (of the rounded P, as P·V sees it); rows outside the split → P = 0;
//   3. O[16, DV] = P × V, one 16-column tile at a time (accumulated over the G row tiles; V loaded
//      row-major from the cache), stored straight into the partials when H = 16 (row stride DV), through
//      workgroup memory otherwise (rows ≥ H would land on the next split's heads).
//
// Reads never pass row t − 1: a tile starts at min(its first row, t − 16) (the caller guarantees
// t > 16), so the last tile of the last split overlaps the tile before it and its rows already counted
// are masked. The cache's capacity therefore needs no padding to a multiple of 16 rows, and rows past
// t (stale, uninitialised) are never loaded. Tiles past the last split's rows repeat its last tile
// (same rows, cache hits) and are masked entirely.
//
// Accuracy: queries and probabilities are rounded to f16 (the cache already is); products and sums are
// f32.

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

override H: u32 = 16u;            // query heads, ≤ 16
override DK: u32 = 576u;          // key width, a multiple of 16
override DV: u32 = 512u;          // value width, a multiple of 16
override G: u32 = 4u;             // tiles of 16 rows per split, 1 ..= 4
override KT: u32 = DK / 16u;      // k-steps of the scores
override CT: u32 = DV / 16u;      // column tiles of P·V
override QS8: u32 = DK / 8u + 1u; // qs row stride in 16-byte entries (8 f16): rows start on other banks
override SS: u32 = 16u * G + 4u;  // ss row stride (f32), ≥ 20: also holds one 16×16 output tile
override PS: u32 = 16u * G + 8u;  // ps row stride (f16)
// attn-kbench --mma-ablate only (0 in the engine): 1 keys and 2 values from workgroup memory instead of
// the cache, 4 no scores, 8 no P·V, 16 no query staging (the results are then meaningless).
override ABL: u32 = 0u;
// Key and value tiles loaded through the u32 view of the cache (offset and stride in words) instead of
// the f16 one: the same bytes; which the driver loads faster is measured (attn-kbench --mma).
override U32: bool = false;

const NEG: f32 = -3.0e38;

struct Params {
  t: u32,
  chunk: u32,    // rows per split, ≤ 16·G, a multiple of 16
  hq: u32,
  k_row: u32,    // elements, a multiple of 8
  k_off: u32,
  v_row: u32,
  v_off: u32,
  scale: f32,
  n_splits: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;      // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<f16>;           // K cache (row j at j·k_row + k_off)
@group(0) @binding(3) var<storage, read> vc: array<f16>;           // V cache (MLA: the same buffer)
@group(0) @binding(4) var<storage, read_write> part: array<f32>;   // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)
@group(0) @binding(5) var<storage, read> kw: array<u32>;           // the K cache's words (U32)
@group(0) @binding(6) var<storage, read> vw: array<u32>;           // the V cache's words (U32)

// [16 heads, DK] q·scale as f16, eight to an entry: matrix loads from u32 words count offset and stride
// in the array's elements (entries of 8 f16; measured with attn-kbench --probe), so the staging stores
// 16 bytes at a time.
var<workgroup> qs: array<vec4<u32>, 16u * QS8>;
var<workgroup> ss: array<f32, 16u * SS>;  // [16 heads, 16·G rows] scores; then an output tile [16, 16]
var<workgroup> ps: array<f16, 16u * PS>;  // [16 heads, 16·G rows] probabilities

alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Acc = subgroup_matrix_result<f32, 16, 16>;

// First row of tile i of a split starting at j0 with nt live tiles (tiles past nt repeat the last).
fn tile_base(i: u32, j0: u32, nt: u32) -> u32 {
  return min(j0 + 16u * min(i, nt - 1u), p.t - 16u);
}

// K-tile [16 dims, 16 rows] of the rows from `base`, dims d0 ..: element (d, r) at (base + r)·k_row + k_off + d0 + d.
fn kload(base: u32, d0: u32) -> Right {
  if ((ABL & 1u) != 0u) {
    return subgroupMatrixLoad<Right, col_major>(&qs, min(d0, DK - 16u) / 8u, QS8);
  }
  let off = base * p.k_row + p.k_off + d0;
  if (U32) {
    let ow = off / 2u;
    return subgroupMatrixLoad<Right, col_major>(&kw, ow, p.k_row / 2u);
  }
  return subgroupMatrixLoad<Right, col_major>(&kc, off, p.k_row);
}

// V-tile [16 rows, 16 columns] of the rows from `base`, columns c0 ..
fn vload(base: u32, c0: u32) -> Right {
  if ((ABL & 2u) != 0u) {
    return subgroupMatrixLoad<Right, row_major>(&qs, min(c0, DK - 16u) / 8u, QS8);
  }
  let off = base * p.v_row + p.v_off + c0;
  if (U32) {
    let ow = off / 2u;
    return subgroupMatrixLoad<Right, row_major>(&vw, ow, p.v_row / 2u);
  }
  return subgroupMatrixLoad<Right, row_major>(&vc, off, p.v_row);
}

fn qload(d0: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&qs, d0 / 8u, QS8);
}

// Four k-steps (or column tiles) at once: the loads of a batch are issued together, the next batch's
// before this one's products (in program order: the driver keeps subgroup-matrix operations in order,
// so a load written just before its product waits out its whole latency). Steps past the end are
// clamped to the last one (loaded again, cache hits); their products are skipped.
struct R4 {
  m0: Right,
  m1: Right,
  m2: Right,
  m3: Right,
}

struct L4 {
  m0: Left,
  m1: Left,
  m2: Left,
  m3: Left,
}

fn kload4(base: u32, d: u32) -> R4 {
  return R4(kload(base, min(d, DK - 16u)), kload(base, min(d + 16u, DK - 16u)), kload(base, min(d + 32u, DK - 16u)), kload(base, min(d + 48u, DK - 16u)));
}

fn vload4(base: u32, c: u32) -> R4 {
  return R4(vload(base, min(c, DV - 16u)), vload(base, min(c + 16u, DV - 16u)), vload(base, min(c + 32u, DV - 16u)), vload(base, min(c + 48u, DV - 16u)));
}

fn qload4(d: u32) -> L4 {
  return L4(qload(min(d, DK - 16u)), qload(min(d + 16u, DK - 16u)), qload(min(d + 32u, DK - 16u)), qload(min(d + 48u, DK - 16u)));
}

// q·scale elements 8e .. 8e + 7 of [16 heads, DK] as packed f16 (zero for heads ≥ H). The loads are
// unconditional (index clamped into [H, DK], zero selected after): a load under a branch was not
// overlapped with the next one (H100: the staging took ~6 µs a workgroup that way).
fn qget(e: u32) -> vec4<u32> {
  let dk8 = DK / 8u;
  let ec = min(e, H * dk8 - 1u);
  let x = q[2u * ec] * p.scale;
  let y = q[2u * ec + 1u] * p.scale;
  let w = vec4<u32>(pack2x16float(x.xy), pack2x16float(x.zw), pack2x16float(y.xy), pack2x16float(y.zw));
  return select(vec4<u32>(0u), w, e < H * dk8);
}

fn qput(e: u32, w: vec4<u32>) {
  let dk8 = DK / 8u;
  if (e < 16u * dk8) {
    qs[(e / dk8) * QS8 + e % dk8] = w;
  }
}

// Output tile [16 heads, 16 columns] at column c0 of the split's partials (from ob).
fn put(o: Acc, ob: u32, c0: u32, lane: u32) {
  if (H == 16u) {
    subgroupMatrixStore<row_major>(&part, ob + c0, o, DV);
  } else {
    subgroupMatrixStore<row_major>(&ss, 0u, o, 16u);
    workgroupBarrier();
    for (var e = lane; e < 16u * H; e += 32u) {
      part[ob + (e / 16u) * DV + c0 + e % 16u] = ss[e];
    }
    workgroupBarrier();
  }
}

fn pload(i: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&ps, 16u * i, PS);
}

fn sstore(i: u32, a: Acc) {
  subgroupMatrixStore<row_major>(&ss, 16u * i, a, SS);
}

// Split row x (tile x / 16) is one of the split's own rows: not past j_end, not counted by the tile before.
fn live(x: u32, j0: u32, j_end: u32, nt: u32) -> bool {
  let i = x / 16u;
  let row = tile_base(i, j0, nt) + x % 16u;
  return row >= j0 + 16u * i && row < j_end;
}

@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let split = wg.x;
  let j0 = split * p.chunk;
  let j_end = min(p.t, j0 + p.chunk);
  let nt = (j_end - j0 + 15u) / 16u;
  let b0 = tile_base(0u, j0, nt);
  let b1 = tile_base(1u, j0, nt);
  let b2 = tile_base(2u, j0, nt);
  let b3 = tile_base(3u, j0, nt);

  // The first batch of key tiles loads while the queries are staged.
  var c0 = kload4(b0, 0u);
  var c1 = c0;
  var c2 = c0;
  var c3 = c0;
  if (G > 1u) {
    c1 = kload4(b1, 0u);
  }
  if (G > 2u) {
    c2 = kload4(b2, 0u);
  }
  if (G > 3u) {
    c3 = kload4(b3, 0u);
  }

  // 0. Queries, scaled, as f16; zero rows for the heads past H. Six entries (twelve quads) in flight
  // per lane.
  for (var e = lane; e < select(2u * DK, 0u, (ABL & 16u) != 0u); e += 192u) {
    let x0 = qget(e);
    let x1 = qget(e + 32u);
    let x2 = qget(e + 64u);
    let x3 = qget(e + 96u);
    let x4 = qget(e + 128u);
    let x5 = qget(e + 160u);
    qput(e, x0);
    qput(e + 32u, x1);
    qput(e + 64u, x2);
    qput(e + 96u, x3);
    qput(e + 128u, x4);
    qput(e + 160u, x5);
  }
  workgroupBarrier();

  // 1. Scores of the G tiles, four k-steps a batch.
  var a0 = Acc();
  var a1 = Acc();
  var a2 = Acc();
  var a3 = Acc();
  for (var kk = 0u; kk < select(KT, 0u, (ABL & 4u) != 0u); kk += 4u) {
    let dn = 16u * (kk + 4u);
    let n0 = kload4(b0, dn);
    var n1 = n0;
    var n2 = n0;
    var n3 = n0;
    if (G > 1u) {
      n1 = kload4(b1, dn);
    }
    if (G > 2u) {
      n2 = kload4(b2, dn);
    }
    if (G > 3u) {
      n3 = kload4(b3, dn);
    }
    let ql = qload4(16u * kk);
    a0 = subgroupMatrixMultiplyAccumulate(ql.m0, c0.m0, a0);
    if (G > 1u) {
      a1 = subgroupMatrixMultiplyAccumulate(ql.m0, c1.m0, a1);
    }
    if (G > 2u) {
      a2 = subgroupMatrixMultiplyAccumulate(ql.m0, c2.m0, a2);
    }
    if (G > 3u) {
      a3 = subgroupMatrixMultiplyAccumulate(ql.m0, c3.m0, a3);
    }
    if (KT % 4u == 0u || kk + 1u < KT) {
      a0 = subgroupMatrixMultiplyAccumulate(ql.m1, c0.m1, a0);
      if (G > 1u) {
        a1 = subgroupMatrixMultiplyAccumulate(ql.m1, c1.m1, a1);
      }
      if (G > 2u) {
        a2 = subgroupMatrixMultiplyAccumulate(ql.m1, c2.m1, a2);
      }
      if (G > 3u) {
        a3 = subgroupMatrixMultiplyAccumulate(ql.m1, c3.m1, a3);
      }
    }
    if (KT % 4u == 0u || kk + 2u < KT) {
      a0 = subgroupMatrixMultiplyAccumulate(ql.m2, c0.m2, a0);
      if (G > 1u) {
        a1 = subgroupMatrixMultiplyAccumulate(ql.m2, c1.m2, a1);
      }
      if (G > 2u) {
        a2 = subgroupMatrixMultiplyAccumulate(ql.m2, c2.m2, a2);
      }
      if (G > 3u) {
        a3 = subgroupMatrixMultiplyAccumulate(ql.m2, c3.m2, a3);
      }
    }
    if (KT % 4u == 0u || kk + 3u < KT) {
      a0 = subgroupMatrixMultiplyAccumulate(ql.m3, c0.m3, a0);
      if (G > 1u) {
        a1 = subgroupMatrixMultiplyAccumulate(ql.m3, c1.m3, a1);
      }
      if (G > 2u) {
        a2 = subgroupMatrixMultiplyAccumulate(ql.m3, c2.m3, a2);
      }
      if (G > 3u) {
        a3 = subgroupMatrixMultiplyAccumulate(ql.m3, c3.m3, a3);
      }
    }
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  // The first batch of value tiles loads during the softmax.
  var v0 = vload4(b0, 0u);
  var v1 = v0;
  var v2 = v0;
  var v3 = v0;
  if (G > 1u) {
    v1 = vload4(b1, 0u);
  }
  if (G > 2u) {
    v2 = vload4(b2, 0u);
  }
  if (G > 3u) {
    v3 = vload4(b3, 0u);
  }
  sstore(0u, a0);
  if (G > 1u) {
    sstore(1u, a1);
  }
  if (G > 2u) {
    sstore(2u, a2);
  }
  if (G > 3u) {
    sstore(3u, a3);
  }
  workgroupBarrier();

  // 2. Softmax over the split's rows: lane (head h, half) takes rows half·8G .. + 8G.
  let h = lane % 16u;
  let x0 = (lane / 16u) * 8u * G;
  var m = NEG;
  for (var x = x0; x < x0 + 8u * G; x++) {
    if (live(x, j0, j_end, nt)) {
      m = max(m, ss[h * SS + x]);
    }
  }
  m = max(m, subgroupShuffleXor(m, 16u));
  var l = 0.0;
  for (var x = x0; x < x0 + 8u * G; x++) {
    var w = 0.0h;
    if (live(x, j0, j_end, nt)) {
      w = f16(exp(ss[h * SS + x] - m));
    }
    ps[h * PS + x] = w;
    l += f32(w);
  }
  l += subgroupShuffleXor(l, 16u);
  if (lane < H) {
    let mi = p.n_splits * p.hq * DV + (split * p.hq + lane) * 2u;
    part[mi] = m;
    part[mi + 1u] = l;
  }
  workgroupBarrier();

  // 3. O = P × V, four column tiles a batch.
  let p0 = pload(0u);
  var p1 = p0;
  var p2 = p0;
  var p3 = p0;
  if (G > 1u) {
    p1 = pload(1u);
  }
  if (G > 2u) {
    p2 = pload(2u);
  }
  if (G > 3u) {
    p3 = pload(3u);
  }
  let ob = split * p.hq * DV;
  for (var ct = 0u; ct < select(CT, 0u, (ABL & 8u) != 0u); ct += 4u) {
    let cn = 16u * (ct + 4u);
    let w0 = vload4(b0, cn);
    var w1 = w0;
    var w2 = w0;
    var w3 = w0;
    if (G > 1u) {
      w1 = vload4(b1, cn);
    }
    if (G > 2u) {
      w2 = vload4(b2, cn);
    }
    if (G > 3u) {
      w3 = vload4(b3, cn);
    }
    var o0 = subgroupMatrixMultiplyAccumulate(p0, v0.m0, Acc());
    var o1 = subgroupMatrixMultiplyAccumulate(p0, v0.m1, Acc());
    var o2 = subgroupMatrixMultiplyAccumulate(p0, v0.m2, Acc());
    var o3 = subgroupMatrixMultiplyAccumulate(p0, v0.m3, Acc());
    if (G > 1u) {
      o0 = subgroupMatrixMultiplyAccumulate(p1, v1.m0, o0);
      o1 = subgroupMatrixMultiplyAccumulate(p1, v1.m1, o1);
      o2 = subgroupMatrixMultiplyAccumulate(p1, v1.m2, o2);
      o3 = subgroupMatrixMultiplyAccumulate(p1, v1.m3, o3);
    }
    if (G > 2u) {
      o0 = subgroupMatrixMultiplyAccumulate(p2, v2.m0, o0);
      o1 = subgroupMatrixMultiplyAccumulate(p2, v2.m1, o1);
      o2 = subgroupMatrixMultiplyAccumulate(p2, v2.m2, o2);
      o3 = subgroupMatrixMultiplyAccumulate(p2, v2.m3, o3);
    }
    if (G > 3u) {
      o0 = subgroupMatrixMultiplyAccumulate(p3, v3.m0, o0);
      o1 = subgroupMatrixMultiplyAccumulate(p3, v3.m1, o1);
      o2 = subgroupMatrixMultiplyAccumulate(p3, v3.m2, o2);
      o3 = subgroupMatrixMultiplyAccumulate(p3, v3.m3, o3);
    }
    put(o0, ob, 16u * ct, lane);
    if (CT % 4u == 0u || ct + 1u < CT) {
      put(o1, ob, 16u * (ct + 1u), lane);
    }
    if (CT % 4u == 0u || ct + 2u < CT) {
      put(o2, ob, 16u * (ct + 2u), lane);
    }
    if (CT % 4u == 0u || ct + 3u < CT) {
      put(o3, ob, 16u * (ct + 3u), lane);
    }
    v0 = w0;
    v1 = w1;
    v2 = w2;
    v3 = w3;
  }
}
