// Flash-decoding split kernel on subgroup matrices (tensor cores on NVIDIA) for one key/value head
// shared by all (≤ 16) query heads: absorbed MLA's latent rows (576-wide keys, 512-wide values that are
// the first columns of the same rows, 16 heads), and (STAGED) GTA's rows (a 64-wide key, then the
// 128-wide latent values: RW8 entries staged a row). f16 cache only. Workgroups of NSG subgroups of 32
// lanes; a split is G tiles of 16 rows. A workgroup's partial is its output normalised, o/l, as f16 (a
// convex combination of f16 cache rows: always finite), then its max m and sum l per head (f32), which
// attn_decode_combine.wgsl merges (O16).
//
// Two ways to reach the rows, chosen by the host (ops/attn_decode.ts, where what was measured is):
// - STAGED (8 subgroups, G ≤ 2; the default where it applies, every context for PLM-1.8B): a
//   workgroup takes spw consecutive splits (spw = ceil(splits / 132): at most 132 workgroups). Each lane loads its share of a split's rows with 16-byte
//   loads into registers, which go to workgroup memory (over the staged queries, once each subgroup
//   holds its query tiles in registers); the K tiles of step 1 and V tiles of step 3 are then loaded
//   from there, and the next split's rows load during this split's work. The splits' outputs are merged
//   in registers (running max and sum per head, lane pairs holding 8 columns of a head in each of the
//   subgroup's 4 column tiles), one partial per workgroup: with spw chosen for one wave of workgroups,
//   a long context costs more splits per workgroup, not more waves.
// - otherwise one split per workgroup, the K and V tiles loaded straight from the cache (a 32-byte
//   sector per matrix row), each output tile normalised through workgroup memory and stored at once.
//
// Several subgroups per workgroup, each loading and storing subgroup matrices at its own offsets:
// Tint's subgroup-matrix uniformity check wants workgroup-uniform offsets, a conservative rule (the
// offsets are uniform per subgroup, which is what the hardware needs); the diagnostic below turns it
// off (as kernels/matmul_mma.wgsl does). No subgroup-matrix operation sits under a branch that depends
// on the subgroup: per-subgroup work differs only in offsets, trip counts are constants or uniform.
//
//   0. all lanes: q·scale → f16 [16 heads, QC] in workgroup memory (heads ≥ H and columns ≥ DK are
//      zero), packed eight to an entry (16-byte stores);
//   1. scores, transposed: Sᵀ[16 rows, 16 heads] = K-tile [16 rows, 16 dims] (left, row-major: each
//      row's 16 dims are contiguous) × Qᵀ-tile [16 dims, 16 heads] (right, column-major from workgroup
//      memory, or STAGED from registers). Subgroup sg takes tile(s) sg % GS (+ GS) of the split and the
//      k-steps kp, kp + KP, kp + 2·KP, … (kp = sg / GS, KP = NSG / GS parts of the key width when the
//      split has fewer tiles than subgroups), KB k-steps a batch (the next batch's loads issued before
//      this one's products when there are several); partial scores → ss[kp] (f32, stored column-major:
//      ss[head][row]). K loaded column-major as the right operand (S = Q × Kᵀ) measured 25% slower
//      (split kernel alone, 8192 rows, L2-resident);
//   2. softmax over the split's rows by all lanes (2·NSG lanes per head): S = Σ over the KP parts, max m,
//      P = exp(S − m) as f16 in workgroup memory, l = Σ P (of the rounded P, as P·V sees it); rows
//      outside the split → P = 0;
//   3. O[16, DV] = P × V: subgroup sg takes the 16-column tiles sg, sg + NSG, …, CW at a time,
//      accumulated over the split's G row tiles in f32. Column tiles past the subgroup's share are
//      clamped to the last one: the same values as its owner computes, stored again to the same place.
//
// Reads never pass row t − 1: a tile starts at min(its first row, t − 16) (the caller guarantees
// t > 16), so the last tile of the last split overlaps the tile before it and its rows already counted
// are masked. The cache's capacity therefore needs no padding to a multiple of 16 rows, and rows past
// t (stale, uninitialised) are never loaded. Tiles past the split's rows repeat its last live tile (same
// rows, cache hits) and are masked entirely.
//
// Accuracy: queries, probabilities and the partial outputs are rounded to f16 (the cache already is);
// products and sums are f32. |q·scale| past 65504 would become inf (absorbed queries of real
// checkpoints are far below that). Subgroups must have 32 lanes (the host checks; NVIDIA's do).

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);

override H: u32 = 16u;            // query heads, ≤ 16
override DK: u32 = 576u;          // key width, a multiple of 16
override DV: u32 = 512u;          // value width, a multiple of 16
override G: u32 = 4u;             // tiles of 16 rows per split: 1, 2, 4, 8 (≤ 2·NSG, ≥ NSG / 8; the host caps it at 8)
override NSG: u32 = 4u;           // subgroups per workgroup: 2, 4, 8 or 16
override KB: u32 = 4u;            // k-steps per load batch, 1 ..= 9
override KSP: u32 = 36u;          // k-steps per subgroup, a multiple of KB, KP·KSP ≥ DK / 16
override WG: u32 = 32u * NSG;
override GS: u32 = min(G, NSG);  // subgroups per k-part
override KP: u32 = NSG / GS;      // parts of the key width (subgroups sharing a tile)
override TPS: u32 = G / GS;       // score tiles per subgroup: 1 or 2
override QC: u32 = 16u * KP * KSP; // staged query columns (zero past DK)
override QE: u32 = QC / 8u;       // entries of 8 f16 per head
override QS8: u32 = QE + 1u;      // qs row stride in entries: rows start on other banks
override CT: u32 = DV / 16u;      // column tiles of P·V
override CW: u32 = 4u;            // column tiles per P·V batch: 2, 4 or 8
override CB: u32 = (CT + CW * NSG - 1u) / (CW * NSG); // column batches per subgroup
override SS: u32 = 16u * G + 4u;  // ss row stride (f32)
override PS: u32 = 16u * G + 8u;  // ps row stride (f16)
override TPH: u32 = WG / 16u;     // softmax lanes per head (2·NSG)
override RPT: u32 = 16u * G / TPH; // softmax rows per lane
// STAGED (see above): G ≤ 2, NSG = 8, one batch of KB = KSP k-steps a subgroup, CW = 4, CB = 1 (the
// host checks).
override STAGED: bool = false;
override DK8: u32 = DK / 8u;      // 16-byte entries of a key row
override RW8: u32 = DK8;          // 16-byte entries staged a row: the keys, and the values where they lie past them (GTA)
override RS8: u32 = RW8 + 1u;     // staged row stride in entries: rows start on other banks
override NE: u32 = 16u * G * RW8; // staged entries
override NKV: u32 = (NE + WG - 1u) / WG; // staged entries per lane (≤ 9)
// Workgroup memory of qs: the queries, and (STAGED) afterwards the split's rows.
override QSE: u32 = select(16u * QS8, max(16u * QS8, 16u * G * RS8), STAGED);

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
  spw: u32,      // splits per workgroup (1 unless STAGED)
  n_parts: u32,  // partials written: n_splits, or (STAGED) one a workgroup
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;      // [hq, DK] f32
// K cache (row j at element j·k_row + k_off), V cache (MLA: the same buffer), f16, as 16-byte entries
// (matrix loads count offset and stride in the array's elements: eight f16 an entry).
@group(0) @binding(2) var<storage, read> kc: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> vc: array<vec4<u32>>;
// One partial a workgroup: [n_parts, hq, DV] o/l as f16 (eight to an entry), then [n_parts, hq]
// (m, l, 0, 0) as f32 bits
@group(0) @binding(4) var<storage, read_write> part: array<vec4<u32>>;

// [16 heads, QC] q·scale as f16, eight to an entry: matrix loads from u32 words count offset and stride
// in the array's elements (entries of 8 f16; measured with attn-kbench --probe).
// STAGED: the same memory then holds the split's rows, [16·G rows, 8·RW8] (from the key's first column)
// with row stride RS8 entries.
var<workgroup> qs: array<vec4<u32>, QSE>;
// [KP][16 heads, 16·G rows] partial scores; in P·V one 16×16 output tile per subgroup (H < 16):
// KP·16·SS ≥ 256·NSG because KP·G ≥ NSG.
var<workgroup> ss: array<f32, KP * 16u * SS>;
var<workgroup> ps: array<f16, 16u * PS>;  // [16 heads, 16·G rows] probabilities
var<workgroup> linv: array<f32, 16>;      // 1 / l per head
var<workgroup> mh: array<f32, 16>;        // STAGED: the split's max and sum per head
var<workgroup> lh: array<f32, 16>;

alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Acc = subgroup_matrix_result<f32, 16, 16>;

// First row of tile i of a split starting at j0 with nt live tiles (tiles past nt repeat the last).
fn tile_base(i: u32, j0: u32, nt: u32) -> u32 {
  return min(j0 + 16u * min(i, nt - 1u), p.t - 16u);
}

// K-tile [16 rows, 16 dims] of the rows from `base` (STAGED: of split tile `ti`), dims d0 .. (clamped
// into the key width: steps past DK meet zero query columns).
fn kload(base: u32, ti: u32, d0: u32) -> Left {
  let d = min(d0, DK - 16u) / 8u;
  if (STAGED) {
    return subgroupMatrixLoad<Left, row_major>(&qs, 16u * ti * RS8 + d, RS8);
  }
  return subgroupMatrixLoad<Left, row_major>(&kc, (base * p.k_row + p.k_off) / 8u + d, p.k_row / 8u);
}

// V-tile [16 rows, 16 columns] of the rows from `base` (STAGED: of split tile `ti`), column tile c.
fn vload(base: u32, ti: u32, c: u32) -> Right {
  if (STAGED) {
    return subgroupMatrixLoad<Right, row_major>(&qs, 16u * ti * RS8 + (p.v_off - p.k_off) / 8u + 2u * c, RS8);
  }
  return subgroupMatrixLoad<Right, row_major>(&vc, (base * p.v_row + p.v_off) / 8u + 2u * c, p.v_row / 8u);
}

// Qᵀ-tile [16 dims, 16 heads] from dim d0.
fn qload(d0: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&qs, min(d0, QC - 16u) / 8u, QS8);
}

// STAGED: the Qᵀ tiles of a subgroup's KB k-steps (part kp), held while its rows replace them; else
// the query tile of k-step d0 from workgroup memory.
fn qpick(r: Right, d0: u32) -> Right {
  if (STAGED) {
    return r;
  }
  return qload(d0);
}

// Up to nine k-steps of a batch, eight column tiles of a P·V step (unused members repeat the first).
struct R9 {
  m0: Left,
  m1: Left,
  m2: Left,
  m3: Left,
  m4: Left,
  m5: Left,
  m6: Left,
  m7: Left,
  m8: Left,
}

struct Q9 {
  m0: Right,
  m1: Right,
  m2: Right,
  m3: Right,
  m4: Right,
  m5: Right,
  m6: Right,
  m7: Right,
  m8: Right,
}

// The query tiles of the first KB k-steps of part kp (STAGED).
fn qbatch(kp: u32) -> Q9 {
  let d = 16u * kp;
  let m0 = qload(d);
  var m1 = m0;
  var m2 = m0;
  var m3 = m0;
  var m4 = m0;
  var m5 = m0;
  var m6 = m0;
  var m7 = m0;
  var m8 = m0;
  if (KB > 1u) {
    m1 = qload(d + 16u * KP);
  }
  if (KB > 2u) {
    m2 = qload(d + 32u * KP);
  }
  if (KB > 3u) {
    m3 = qload(d + 48u * KP);
  }
  if (KB > 4u) {
    m4 = qload(d + 64u * KP);
  }
  if (KB > 5u) {
    m5 = qload(d + 80u * KP);
  }
  if (KB > 6u) {
    m6 = qload(d + 96u * KP);
  }
  if (KB > 7u) {
    m7 = qload(d + 112u * KP);
  }
  if (KB > 8u) {
    m8 = qload(d + 128u * KP);
  }
  return Q9(m0, m1, m2, m3, m4, m5, m6, m7, m8);
}

struct R8 {
  m0: Right,
  m1: Right,
  m2: Right,
  m3: Right,
  m4: Right,
  m5: Right,
  m6: Right,
  m7: Right,
}

// KB k-steps from step s of part kp (step index kp + KP·(s + i)).
fn kbatch(base: u32, ti: u32, kp: u32, s: u32) -> R9 {
  let d = 16u * (kp + KP * s);
  let m0 = kload(base, ti, d);
  var m1 = m0;
  var m2 = m0;
  var m3 = m0;
  var m4 = m0;
  var m5 = m0;
  var m6 = m0;
  var m7 = m0;
  var m8 = m0;
  if (KB > 1u) {
    m1 = kload(base, ti, d + 16u * KP);
  }
  if (KB > 2u) {
    m2 = kload(base, ti, d + 32u * KP);
  }
  if (KB > 3u) {
    m3 = kload(base, ti, d + 48u * KP);
  }
  if (KB > 4u) {
    m4 = kload(base, ti, d + 64u * KP);
  }
  if (KB > 5u) {
    m5 = kload(base, ti, d + 80u * KP);
  }
  if (KB > 6u) {
    m6 = kload(base, ti, d + 96u * KP);
  }
  if (KB > 7u) {
    m7 = kload(base, ti, d + 112u * KP);
  }
  if (KB > 8u) {
    m8 = kload(base, ti, d + 128u * KP);
  }
  return R9(m0, m1, m2, m3, m4, m5, m6, m7, m8);
}

// Column tile j of subgroup sg (clamped: past its share, the last tile again).
fn col(sg: u32, j: u32) -> u32 {
  return min(sg + NSG * j, CT - 1u);
}

// CW column tiles (batch cb of subgroup sg) of row tile `base`.
fn vbatch(base: u32, ti: u32, sg: u32, cb: u32) -> R8 {
  let m0 = vload(base, ti, col(sg, CW * cb));
  let m1 = vload(base, ti, col(sg, CW * cb + 1u));
  var m2 = m0;
  var m3 = m0;
  if (CW > 2u) {
    m2 = vload(base, ti, col(sg, CW * cb + 2u));
    m3 = vload(base, ti, col(sg, CW * cb + 3u));
  }
  var m4 = m0;
  var m5 = m0;
  var m6 = m0;
  var m7 = m0;
  if (CW > 4u) {
    m4 = vload(base, ti, col(sg, CW * cb + 4u));
  }
  if (CW > 4u) {
    m5 = vload(base, ti, col(sg, CW * cb + 5u));
  }
  if (CW > 4u) {
    m6 = vload(base, ti, col(sg, CW * cb + 6u));
  }
  if (CW > 4u) {
    m7 = vload(base, ti, col(sg, CW * cb + 7u));
  }
  return R8(m0, m1, m2, m3, m4, m5, m6, m7);
}

// q·scale elements 8c .. 8c + 7 of head h as packed f16 (zero for heads ≥ H and columns ≥ DK). The
// loads are unconditional (index clamped, zero selected after): a load under a branch was not overlapped
// with the next one.
fn qget(e: u32) -> vec4<u32> {
  let dk8 = DK / 8u;
  let h = e / QE;
  let c = e % QE;
  let ec = min(h, H - 1u) * dk8 + min(c, dk8 - 1u);
  let x = q[2u * ec] * p.scale;
  let y = q[2u * ec + 1u] * p.scale;
  let w = vec4<u32>(pack2x16float(x.xy), pack2x16float(x.zw), pack2x16float(y.xy), pack2x16float(y.zw));
  return select(vec4<u32>(0u), w, h < H && c < dk8);
}

fn qput(e: u32, w: vec4<u32>) {
  if (e < 16u * QE) {
    qs[(e / QE) * QS8 + e % QE] = w;
  }
}

// An output tile [16 heads, 16 columns] through this subgroup's 256 floats of ss: lane (h = lane / 2,
// half = lane % 2) takes 8 columns of head h. The barriers are reached by every lane (take is called
// the same number of times by all subgroups).
struct V8 {
  a: vec4<f32>,
  b: vec4<f32>,
}

fn take(o: Acc, sg: u32, lane: u32) -> V8 {
  subgroupMatrixStore<row_major>(&ss, 256u * sg, o, 16u);
  workgroupBarrier();
  let e = 256u * sg + 16u * (lane / 2u) + 8u * (lane % 2u);
  let v = V8(vec4<f32>(ss[e], ss[e + 1u], ss[e + 2u], ss[e + 3u]), vec4<f32>(ss[e + 4u], ss[e + 5u], ss[e + 6u], ss[e + 7u]));
  workgroupBarrier();
  return v;
}

// Eight columns (half `half` of column tile c) of head h as f16 into partial `slot`.
fn store8(slot: u32, h: u32, c: u32, half: u32, v: V8) {
  if (h < H) {
    part[slot * p.hq * (DV / 8u) + h * (DV / 8u) + 2u * c + half] =
      vec4<u32>(pack2x16float(v.a.xy), pack2x16float(v.a.zw), pack2x16float(v.b.xy), pack2x16float(v.b.zw));
  }
}

// Unstaged: output tile c of split `split`, scaled by 1/l of its head, stored at once.
fn put(o: Acc, split: u32, c: u32, sg: u32, lane: u32) {
  let v = take(o, sg, lane);
  let sc = linv[lane / 2u];
  store8(split, lane / 2u, c, lane % 2u, V8(v.a * sc, v.b * sc));
}

fn pload(i: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&ps, 16u * i, PS);
}

// Split row x (tile x / 16) is one of the split's own rows: not past j_end, not counted by the tile before.
fn live(x: u32, j0: u32, j_end: u32, nt: u32) -> bool {
  let i = x / 16u;
  let row = tile_base(i, j0, nt) + x % 16u;
  return row >= j0 + 16u * i && row < j_end;
}

fn mma(l: Left, r: Right, a: Acc) -> Acc {
  return subgroupMatrixMultiplyAccumulate(l, r, a);
}

// STAGED: the rows of `split` into kr, 16 bytes a lane, NKV each (unconditional loads: clamped index).
fn stage_rows(kr: ptr<function, array<vec4<u32>, 9>>, split: u32, tid: u32) {
  let j0 = split * p.chunk;
  let nt = (min(p.t, j0 + p.chunk) - j0 + 15u) / 16u;
  for (var i = 0u; i < NKV; i++) {
    let e = min(tid + WG * i, NE - 1u);
    let r = e / RW8;
    let row = tile_base(r / 16u, j0, nt) + r % 16u;
    (*kr)[i] = kc[(row * p.k_row + p.k_off) / 8u + e % RW8];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let sg = tid / 32u;
  let lane = tid % 32u;
  let kp = sg / GS;
  let ti0 = sg % GS;          // this subgroup's score tiles: ti0 and ti0 + GS (TPS = 2)
  let ti1 = min(ti0 + GS, G - 1u);
  // Splits first .. first + spw − 1 (STAGED: spw ≥ 1, the next split's rows loading during this one's
  // work; else spw = 1).
  let first = wg.x * p.spw;

  // STAGED: the first split's rows load while the queries are staged; else its first batch of key tiles.
  var kr: array<vec4<u32>, 9>;
  var c0: R9;
  var c1: R9;
  if (STAGED) {
    stage_rows(&kr, first, tid);
  } else {
    let j0 = first * p.chunk;
    let nt = (min(p.t, j0 + p.chunk) - j0 + 15u) / 16u;
    c0 = kbatch(tile_base(ti0, j0, nt), ti0, kp, 0u);
    c1 = c0;
    if (TPS > 1u) {
      c1 = kbatch(tile_base(ti1, j0, nt), ti1, kp, 0u);
    }
  }

  // 0. Queries, scaled, as f16; zero rows for the heads past H, zero columns past DK. Three entries
  // (six quads) in flight per lane.
  for (var e = tid; e < 16u * QE; e += 3u * WG) {
    let x0 = qget(e);
    let x1 = qget(min(e + WG, 16u * QE - 1u));
    let x2 = qget(min(e + 2u * WG, 16u * QE - 1u));
    qput(e, x0);
    qput(e + WG, x1);
    qput(e + 2u * WG, x2);
  }
  workgroupBarrier();
  let qf = qbatch(kp);
  // STAGED: this lane's running merge of the workgroup's splits for head lane / 2 (max, sum, and the
  // unnormalised outputs of 8 columns in each of its CW column tiles, CB = 1).
  var mr = NEG;
  var lr = 0.0;
  var r0 = V8(vec4<f32>(0.0), vec4<f32>(0.0));
  var r1 = r0;
  var r2 = r0;
  var r3 = r0;

  for (var si = 0u; si < p.spw; si++) {
    let split = first + si;
    if (split >= p.n_splits) {
      break;
    }
    let j0 = split * p.chunk;
    let j_end = min(p.t, j0 + p.chunk);
    let nt = (j_end - j0 + 15u) / 16u;
    let b0 = tile_base(ti0, j0, nt);
    let b1 = tile_base(ti1, j0, nt);
    if (STAGED) {
      // Every subgroup holds its query tiles and is done with the last split's rows: this split's rows
      // replace them in workgroup memory, and the next split's start loading.
      workgroupBarrier();
      for (var i = 0u; i < NKV; i++) {
        let e = tid + WG * i;
        if (e < NE) {
          qs[(e / RW8) * RS8 + e % RW8] = kr[i];
        }
      }
      workgroupBarrier();
      if (si + 1u < p.spw && split + 1u < p.n_splits) {
        stage_rows(&kr, split + 1u, tid);
      }
      c0 = kbatch(b0, ti0, kp, 0u);
      if (TPS > 1u) {
        c1 = kbatch(b1, ti1, kp, 0u);
      }
    }

    // 1. Scores: this subgroup's tile(s) over its k-steps, KB a batch.
    var a0 = Acc();
    var a1 = Acc();
    for (var s = 0u; s < KSP; s += KB) {
      var n0 = c0;
      var n1 = c1;
      if (KSP > KB) {
        n0 = kbatch(b0, ti0, kp, min(s + KB, KSP - KB));
        if (TPS > 1u) {
          n1 = kbatch(b1, ti1, kp, min(s + KB, KSP - KB));
        }
      }
      let d = 16u * (kp + KP * s);
      let q0 = qpick(qf.m0, d + 0u * KP);
      a0 = mma(c0.m0, q0, a0);
      if (TPS > 1u) {
        a1 = mma(c1.m0, q0, a1);
      }
      if (KB > 1u) {
        let q1 = qpick(qf.m1, d + 16u * KP);
        a0 = mma(c0.m1, q1, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m1, q1, a1);
        }
      }
      if (KB > 2u) {
        let q2 = qpick(qf.m2, d + 32u * KP);
        a0 = mma(c0.m2, q2, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m2, q2, a1);
        }
      }
      if (KB > 3u) {
        let q3 = qpick(qf.m3, d + 48u * KP);
        a0 = mma(c0.m3, q3, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m3, q3, a1);
        }
      }
      if (KB > 4u) {
        let q4 = qpick(qf.m4, d + 64u * KP);
        a0 = mma(c0.m4, q4, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m4, q4, a1);
        }
      }
      if (KB > 5u) {
        let q5 = qpick(qf.m5, d + 80u * KP);
        a0 = mma(c0.m5, q5, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m5, q5, a1);
        }
      }
      if (KB > 6u) {
        let q6 = qpick(qf.m6, d + 96u * KP);
        a0 = mma(c0.m6, q6, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m6, q6, a1);
        }
      }
      if (KB > 7u) {
        let q7 = qpick(qf.m7, d + 112u * KP);
        a0 = mma(c0.m7, q7, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m7, q7, a1);
        }
      }
      if (KB > 8u) {
        let q8 = qpick(qf.m8, d + 128u * KP);
        a0 = mma(c0.m8, q8, a0);
        if (TPS > 1u) {
          a1 = mma(c1.m8, q8, a1);
        }
      }
      c0 = n0;
      c1 = n1;
    }
    subgroupMatrixStore<col_major>(&ss, kp * 16u * SS + 16u * ti0, a0, SS);
    if (TPS > 1u) {
      subgroupMatrixStore<col_major>(&ss, kp * 16u * SS + 16u * ti1, a1, SS);
    }
    // The first batch of value tiles loads during the softmax.
    var cur = vbatch(tile_base(0u, j0, nt), 0u, sg, 0u);
    workgroupBarrier();

    // 2. Softmax over the split's rows: lane r of head h takes rows r, r + TPH, …
    let h = tid / TPH;
    let r = tid % TPH;
    var m = NEG;
    for (var u = 0u; u < RPT; u++) {
      let x = r + TPH * u;
      var sc = 0.0;
      for (var k = 0u; k < KP; k++) {
        sc += ss[k * 16u * SS + h * SS + x];
      }
      if (live(x, j0, j_end, nt)) {
        m = max(m, sc);
      }
    }
    for (var o = 1u; o < TPH; o *= 2u) {
      m = max(m, subgroupShuffleXor(m, o));
    }
    var l = 0.0;
    for (var u = 0u; u < RPT; u++) {
      let x = r + TPH * u;
      var sc = 0.0;
      for (var k = 0u; k < KP; k++) {
        sc += ss[k * 16u * SS + h * SS + x];
      }
      var w = 0.0h;
      if (live(x, j0, j_end, nt)) {
        w = f16(exp(sc - m));
      }
      ps[h * PS + x] = w;
      l += f32(w);
    }
    for (var o = 1u; o < TPH; o *= 2u) {
      l += subgroupShuffleXor(l, o);
    }
    if (r == 0u) {
      if (STAGED) {
        mh[h] = m;
        lh[h] = l;
      } else {
        linv[h] = 1.0 / l; // l ≥ 1: the row holding the max has P = 1
        if (h < H) {
          part[p.n_parts * p.hq * (DV / 8u) + split * p.hq + h] = vec4<u32>(bitcast<u32>(m), bitcast<u32>(l), 0u, 0u);
        }
      }
    }
    workgroupBarrier();

    // 3. O = P × V: this subgroup's column tiles, CW a batch, over the G row tiles (the first row tile
    // of the first batch was loaded before the softmax).
    for (var cb = 0u; cb < CB; cb++) {
      var o0 = Acc();
      var o1 = Acc();
      var o2 = Acc();
      var o3 = Acc();
      var o4 = Acc();
      var o5 = Acc();
      var o6 = Acc();
      var o7 = Acc();
      for (var i = 0u; i < G; i++) {
        if (i > 0u || cb > 0u) {
          cur = vbatch(tile_base(i, j0, nt), i, sg, cb);
        }
        let pl = pload(i);
        o0 = mma(pl, cur.m0, o0);
        o1 = mma(pl, cur.m1, o1);
        if (CW > 2u) {
          o2 = mma(pl, cur.m2, o2);
          o3 = mma(pl, cur.m3, o3);
        }
        if (CW > 4u) {
          o4 = mma(pl, cur.m4, o4);
          o5 = mma(pl, cur.m5, o5);
          o6 = mma(pl, cur.m6, o6);
          o7 = mma(pl, cur.m7, o7);
        }
      }
      if (STAGED) {
        // Merge this split into the running state (CW = 4, CB = 1: the host checks).
        let v0 = take(o0, sg, lane);
        let v1 = take(o1, sg, lane);
        let v2 = take(o2, sg, lane);
        let v3 = take(o3, sg, lane);
        let hh = lane / 2u;
        let mn = mh[hh];
        let big = max(mr, mn);
        let fa = exp(mr - big);
        let fb = exp(mn - big);
        r0 = V8(r0.a * fa + v0.a * fb, r0.b * fa + v0.b * fb);
        r1 = V8(r1.a * fa + v1.a * fb, r1.b * fa + v1.b * fb);
        r2 = V8(r2.a * fa + v2.a * fb, r2.b * fa + v2.b * fb);
        r3 = V8(r3.a * fa + v3.a * fb, r3.b * fa + v3.b * fb);
        lr = lr * fa + lh[hh] * fb;
        mr = big;
      } else {
        put(o0, split, col(sg, CW * cb + 0u), sg, lane);
        put(o1, split, col(sg, CW * cb + 1u), sg, lane);
        if (CW > 2u) {
          put(o2, split, col(sg, CW * cb + 2u), sg, lane);
          put(o3, split, col(sg, CW * cb + 3u), sg, lane);
        }
        if (CW > 4u) {
          put(o4, split, col(sg, CW * cb + 4u), sg, lane);
          put(o5, split, col(sg, CW * cb + 5u), sg, lane);
          put(o6, split, col(sg, CW * cb + 6u), sg, lane);
          put(o7, split, col(sg, CW * cb + 7u), sg, lane);
        }
      }
    }
  }
  if (STAGED) {
    // The workgroup's partial: its splits' merged output over their sum (a convex combination of f16
    // cache rows), then (max, sum) per head.
    let hh = lane / 2u;
    let half = lane % 2u;
    let inv = 1.0 / lr; // lr ≥ 1: the row holding the max has P = 1
    store8(wg.x, hh, col(sg, 0u), half, V8(r0.a * inv, r0.b * inv));
    store8(wg.x, hh, col(sg, 1u), half, V8(r1.a * inv, r1.b * inv));
    store8(wg.x, hh, col(sg, 2u), half, V8(r2.a * inv, r2.b * inv));
    store8(wg.x, hh, col(sg, 3u), half, V8(r3.a * inv, r3.b * inv));
    if (sg == 0u && half == 0u && hh < H) {
      part[p.n_parts * p.hq * (DV / 8u) + wg.x * p.hq + hh] = vec4<u32>(bitcast<u32>(mr), bitcast<u32>(lr), 0u, 0u);
    }
  }
}
