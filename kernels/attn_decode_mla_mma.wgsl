// Flash-decoding split kernel on subgroup matrices (tensor cores on NVIDIA) for one key/value head
// shared by all (≤ 16) query heads: absorbed MLA's latent rows (576-wide keys, 512-wide values that are
// the first columns of the same rows, 16 heads). f16 cache only. One subgroup of 32 lanes per workgroup
// (Dawn wants subgroup-matrix offsets uniform over the whole workgroup), one workgroup per split of
// G·16 rows at most. It leaves the same partials as attn_decode_mqa_wide.wgsl (o unnormalised, then the
// split's max m and sum l per head), which attn_decode_combine.wgsl merges.
//
//   0. q·scale → f16 [16 heads, DK] in workgroup memory (heads ≥ H are zero);
//   1. S[16 heads, 16 rows] for each of the split's G tiles of 16 rows: DK/16 k-steps of
//      Q-tile (left, workgroup memory) × K-tile (right, loaded column-major straight from the cache,
//      stride = row stride); the G tiles share each Q-tile load and run G independent accumulators;
//      → S in workgroup memory (f32);
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
override G: u32 = 4u;             // tiles of 16 rows per split, 1 ..= 8
override KT: u32 = DK / 16u;      // k-steps of the scores
override CT: u32 = DV / 16u;      // column tiles of P·V
override QS: u32 = DK + 8u;       // qs row stride (f16): 16 bytes past a multiple of 128, rows on other banks
override SS: u32 = 16u * G + 4u;  // ss row stride (f32), ≥ 20: also holds one 16×16 output tile
override PS: u32 = 16u * G + 8u;  // ps row stride (f16)

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

var<workgroup> qs: array<f16, 16u * QS>;  // [16 heads, DK] q·scale
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
  let off = base * p.k_row + p.k_off + d0;
  return subgroupMatrixLoad<Right, col_major>(&kc, off, p.k_row);
}

// V-tile [16 rows, 16 columns] of the rows from `base`, columns c0 ..
fn vload(base: u32, c0: u32) -> Right {
  let off = base * p.v_row + p.v_off + c0;
  return subgroupMatrixLoad<Right, row_major>(&vc, off, p.v_row);
}

fn qload(d0: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&qs, d0, QS);
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

  // 0. Queries, scaled, as f16; zero rows for the heads past H.
  let dk4 = DK / 4u;
  for (var e = lane; e < 16u * dk4; e += 32u) {
    let h = e / dk4;
    let c = e % dk4;
    var x = vec4<f32>(0.0);
    if (h < H) {
      x = q[h * dk4 + c] * p.scale;
    }
    let o = h * QS + 4u * c;
    qs[o] = f16(x.x);
    qs[o + 1u] = f16(x.y);
    qs[o + 2u] = f16(x.z);
    qs[o + 3u] = f16(x.w);
  }
  workgroupBarrier();

  // 1. Scores of the G tiles.
  let b0 = tile_base(0u, j0, nt);
  let b1 = tile_base(1u, j0, nt);
  let b2 = tile_base(2u, j0, nt);
  let b3 = tile_base(3u, j0, nt);
  let b4 = tile_base(4u, j0, nt);
  let b5 = tile_base(5u, j0, nt);
  let b6 = tile_base(6u, j0, nt);
  let b7 = tile_base(7u, j0, nt);
  var a0 = Acc();
  var a1 = Acc();
  var a2 = Acc();
  var a3 = Acc();
  var a4 = Acc();
  var a5 = Acc();
  var a6 = Acc();
  var a7 = Acc();
  for (var kk = 0u; kk < KT; kk++) {
    let d0 = 16u * kk;
    let ql = qload(d0);
    a0 = subgroupMatrixMultiplyAccumulate(ql, kload(b0, d0), a0);
    if (G > 1u) {
      a1 = subgroupMatrixMultiplyAccumulate(ql, kload(b1, d0), a1);
    }
    if (G > 2u) {
      a2 = subgroupMatrixMultiplyAccumulate(ql, kload(b2, d0), a2);
    }
    if (G > 3u) {
      a3 = subgroupMatrixMultiplyAccumulate(ql, kload(b3, d0), a3);
    }
    if (G > 4u) {
      a4 = subgroupMatrixMultiplyAccumulate(ql, kload(b4, d0), a4);
    }
    if (G > 5u) {
      a5 = subgroupMatrixMultiplyAccumulate(ql, kload(b5, d0), a5);
    }
    if (G > 6u) {
      a6 = subgroupMatrixMultiplyAccumulate(ql, kload(b6, d0), a6);
    }
    if (G > 7u) {
      a7 = subgroupMatrixMultiplyAccumulate(ql, kload(b7, d0), a7);
    }
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
  if (G > 4u) {
    sstore(4u, a4);
  }
  if (G > 5u) {
    sstore(5u, a5);
  }
  if (G > 6u) {
    sstore(6u, a6);
  }
  if (G > 7u) {
    sstore(7u, a7);
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

  // 3. O = P × V, one column tile at a time.
  let p0 = pload(0u);
  var p1 = Left();
  var p2 = Left();
  var p3 = Left();
  var p4 = Left();
  var p5 = Left();
  var p6 = Left();
  var p7 = Left();
  if (G > 1u) {
    p1 = pload(1u);
  }
  if (G > 2u) {
    p2 = pload(2u);
  }
  if (G > 3u) {
    p3 = pload(3u);
  }
  if (G > 4u) {
    p4 = pload(4u);
  }
  if (G > 5u) {
    p5 = pload(5u);
  }
  if (G > 6u) {
    p6 = pload(6u);
  }
  if (G > 7u) {
    p7 = pload(7u);
  }
  let ob = split * p.hq * DV;
  for (var ct = 0u; ct < CT; ct++) {
    let c0 = 16u * ct;
    var o = subgroupMatrixMultiplyAccumulate(p0, vload(b0, c0), Acc());
    if (G > 1u) {
      o = subgroupMatrixMultiplyAccumulate(p1, vload(b1, c0), o);
    }
    if (G > 2u) {
      o = subgroupMatrixMultiplyAccumulate(p2, vload(b2, c0), o);
    }
    if (G > 3u) {
      o = subgroupMatrixMultiplyAccumulate(p3, vload(b3, c0), o);
    }
    if (G > 4u) {
      o = subgroupMatrixMultiplyAccumulate(p4, vload(b4, c0), o);
    }
    if (G > 5u) {
      o = subgroupMatrixMultiplyAccumulate(p5, vload(b5, c0), o);
    }
    if (G > 6u) {
      o = subgroupMatrixMultiplyAccumulate(p6, vload(b6, c0), o);
    }
    if (G > 7u) {
      o = subgroupMatrixMultiplyAccumulate(p7, vload(b7, c0), o);
    }
    if (H == 16u) {
      let off = ob + c0;
      subgroupMatrixStore<row_major>(&part, off, o, DV);
    } else {
      subgroupMatrixStore<row_major>(&ss, 0u, o, 16u);
      workgroupBarrier();
      for (var e = lane; e < 16u * H; e += 32u) {
        part[ob + (e / 16u) * DV + c0 + e % 16u] = ss[e];
      }
      workgroupBarrier();
    }
  }
}
