// Causal attention for n new tokens (positions pos0 .. pos0+n-1) over the cache rows 0 .. pos0+n-1,
// flash style: key tiles staged in workgroup memory, online softmax in f32, one pass over the cache.
//
// Heads: query head h reads key head h / hpk and value head h / hpv. A "unit" is a run of gu query heads
// sharing both (gu = gcd(hpk, hpv)); one workgroup takes BQ rows of one unit, a row being a
// (token, head-in-unit) pair ordered token-major, so a key tile loaded once serves every head of the group.
// Covers MHA, GQA, GTA (keys + latent as values: hpk ≠ hpv allowed) and absorbed MLA (keys = the whole
// 576-wide latent row, values = its first 512 elements, one kv head: strides and offsets below).
//
// TAP (a separate pipeline variant): also writes the softmax probabilities [hq, n, pos0+n] f32, zero
// beyond the causal limit. Without it the branch is removed at pipeline creation.

override KV_F16: bool = true;
override TAP: bool = false;
override DK: u32 = 64u; // key width (elements); even
override DV: u32 = 64u; // value width; even, ≤ TPR * ACC = 512

const WG: u32 = 64u;
const BQ: u32 = 16u;  // rows per workgroup
const BK: u32 = 16u;  // keys per tile
const DC: u32 = 64u;  // head-dim chunk staged at a time
const DCP: u32 = DC + 1u; // padded row stride of qs/ks: a warp's threads read different rows, one bank each
const TPR: u32 = 4u;  // threads per row = WG / BQ
const ACC: u32 = 128u; // value columns per thread, at most: DV ≤ TPR * ACC = 512
const NEG: f32 = -3.0e38;

struct Params {
  n: u32,
  pos0: u32,
  hq: u32,
  gu: u32,     // query heads per unit
  hpk: u32,    // query heads per key head
  hpv: u32,    // query heads per value head
  k_row: u32,  // elements between cache rows of K
  k_head: u32, // elements between key heads
  k_off: u32,
  v_row: u32,
  v_head: u32,
  v_off: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;           // [n, hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;          // K cache, rows of k_row elements
@group(0) @binding(3) var<storage, read> vc: array<u32>;          // V cache, rows of v_row elements
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [n, hq, DV] f32
@group(0) @binding(5) var<storage, read_write> probs: array<f32>; // [hq, n, pos0+n] f32 (TAP only)

var<workgroup> qs: array<f32, BQ * DCP>; // query chunk [BQ rows, DC], rows padded to DCP
var<workgroup> ks: array<f32, BK * DCP>; // key or value chunk [BK keys, DC], rows padded to DCP
var<workgroup> ps: array<f32, BQ * BK>; // scores, then probabilities [BQ, BK]
var<workgroup> row_m: array<f32, BQ>;   // running max per row
var<workgroup> row_l: array<f32, BQ>;   // running sum per row
var<workgroup> row_a: array<f32, BQ>;   // rescale of this tile

// Elements idx, idx+1 (idx even) of a cache, as f32.
fn load_k(idx: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(kc[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(kc[idx]), bitcast<f32>(kc[idx + 1u]));
}

fn load_v(idx: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(vc[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(vc[idx]), bitcast<f32>(vc[idx + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let rows = p.n * p.gu;
  let row0 = wg.x * BQ;
  let h0 = wg.y * p.gu; // first query head of the unit
  let kh = h0 / p.hpk;
  let vh = h0 / p.hpv;
  let t_all = p.pos0 + p.n;
  // Keys this workgroup needs: up to the causal limit of its last row (rows are token-major).
  let kend = p.pos0 + (min(row0 + BQ, rows) - 1u) / p.gu + 1u;

  let row = tid / TPR;
  let sub = tid % TPR;
  let valid = row0 + row < rows;
  let r = min(row0 + row, rows - 1u); // rows past the end compute a copy of the last and store nothing
  let tok = r / p.gu;
  let head = h0 + r % p.gu;
  let limit = p.pos0 + tok; // last visible key

  if (sub == 0u) {
    row_m[row] = NEG;
    row_l[row] = 0.0;
  }
  var acc: array<f32, ACC>;
  for (var a = 0u; a < ACC; a++) {
    acc[a] = 0.0;
  }

  for (var k0 = 0u; k0 < kend; k0 += BK) {
    // Scores of this thread: row `row`, keys k0 + sub + TPR*u.
    var s: array<f32, 4>; // BK / TPR
    for (var u = 0u; u < 4u; u++) {
      s[u] = 0.0;
    }
    for (var c0 = 0u; c0 < DK; c0 += DC) {
      for (var e = tid; e < BQ * DC; e += WG) {
        let rr = min(row0 + e / DC, rows - 1u);
        let d = c0 + e % DC;
        var x = 0.0;
        if (d < DK) {
          x = q[((rr / p.gu) * p.hq + h0 + rr % p.gu) * DK + d];
        }
        qs[(e / DC) * DCP + e % DC] = x;
      }
      for (var e = tid; e < BK * DC / 2u; e += WG) {
        let kk = e / (DC / 2u);
        let d = c0 + (e % (DC / 2u)) * 2u;
        var x = vec2<f32>(0.0);
        if (k0 + kk < kend && d < DK) {
          x = load_k((k0 + kk) * p.k_row + kh * p.k_head + p.k_off + d);
        }
        ks[kk * DCP + d - c0] = x.x;
        ks[kk * DCP + d - c0 + 1u] = x.y;
      }
      workgroupBarrier();
      for (var u = 0u; u < 4u; u++) {
        let kk = sub + TPR * u;
        var dot = 0.0;
        for (var d = 0u; d < DC; d++) {
          dot += qs[row * DCP + d] * ks[kk * DCP + d];
        }
        s[u] += dot;
      }
      workgroupBarrier();
    }
    for (var u = 0u; u < 4u; u++) {
      let kk = sub + TPR * u;
      let key = k0 + kk;
      let sc = s[u] * p.scale;
      ps[row * BK + kk] = select(NEG, sc, key <= limit);
      if (TAP && valid && key <= limit) {
        probs[(head * p.n + tok) * t_all + key] = sc; // raw score; normalised after the last tile
      }
    }
    workgroupBarrier();

    // Online softmax update, one thread per row.
    if (sub == 0u) {
      let m_old = row_m[row];
      var m_new = m_old;
      for (var kk = 0u; kk < BK; kk++) {
        if (k0 + kk <= limit) {
          m_new = max(m_new, ps[row * BK + kk]);
        }
      }
      var sum = 0.0;
      for (var kk = 0u; kk < BK; kk++) {
        let pk = select(0.0, exp(ps[row * BK + kk] - m_new), k0 + kk <= limit);
        ps[row * BK + kk] = pk;
        sum += pk;
      }
      let alpha = exp(m_old - m_new);
      row_a[row] = alpha;
      row_m[row] = m_new;
      row_l[row] = row_l[row] * alpha + sum;
    }
    workgroupBarrier();

    // acc[j] holds column (j / (DC/TPR)) * DC + sub + TPR * (j % (DC/TPR)).
    let alpha = row_a[row];
    for (var c0 = 0u; c0 < DV; c0 += DC) {
      let j0 = c0 / TPR;
      for (var j = 0u; j < DC / TPR; j++) {
        acc[j0 + j] *= alpha;
      }
      for (var e = tid; e < BK * DC / 2u; e += WG) {
        let kk = e / (DC / 2u);
        let d = c0 + (e % (DC / 2u)) * 2u;
        var x = vec2<f32>(0.0);
        if (k0 + kk < kend && d < DV) {
          x = load_v((k0 + kk) * p.v_row + vh * p.v_head + p.v_off + d);
        }
        ks[kk * DCP + d - c0] = x.x;
        ks[kk * DCP + d - c0 + 1u] = x.y;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < BK; kk++) {
        let pk = ps[row * BK + kk];
        for (var j = 0u; j < DC / TPR; j++) {
          acc[j0 + j] += pk * ks[kk * DCP + sub + TPR * j];
        }
      }
      workgroupBarrier();
    }
  }

  let inv_l = 1.0 / row_l[row];
  if (valid) {
    for (var c0 = 0u; c0 < DV; c0 += DC) {
      for (var j = 0u; j < DC / TPR; j++) {
        let col = c0 + sub + TPR * j;
        if (col < DV) {
          out[(tok * p.hq + head) * DV + col] = acc[c0 / TPR + j] * inv_l;
        }
      }
    }
  }
  if (TAP) {
    // Each score was written by this same thread (keys ≡ sub mod TPR); the barrier orders it anyway.
    storageBarrier();
  }
  if (TAP && valid) {
    let m = row_m[row];
    for (var key = sub; key < t_all; key += TPR) {
      let i = (head * p.n + tok) * t_all + key;
      probs[i] = select(0.0, exp(probs[i] - m) * inv_l, key <= limit);
    }
  }
}
