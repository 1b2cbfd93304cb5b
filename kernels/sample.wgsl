// Token sampling on the GPU, one workgroup; writes the chosen id to out[0] so only 4 bytes come back.
//  1. z = logits / T, with the repetition penalty (CTRL: positive logits divided by it, negative ones
//     multiplied) applied to the listed ids; z lands in a scratch buffer.
//  2. top-k: the k-th largest z found by a 4-round radix select over order-preserving u32 keys
//     (8 bits a round, a 256-bin histogram in workgroup memory); ties at the threshold are kept.
//     The survivors (usually about k) are then compacted, in id order, into workgroup memory when
//     they fit, so the later steps scan them instead of the whole vocabulary.
//  3. top-p: the same select, weighting each surviving token by its probability in 2^-24 units,
//     finds the smallest top set whose mass reaches p.
//  4. Gumbel-max: argmax over the kept tokens of z + G, G = −log(−log(u)) with u a hash of (seed, id),
//     which draws from softmax(z) over the kept set without a prefix sum.
// temperature ≤ 0 means greedy: the argmax of the penalised logits.

// One workgroup (the selection needs workgroup barriers between passes), as wide as WebGPU allows.
const WG: u32 = 1024u;

struct Params {
  n: u32,
  offset: u32,
  top_k: u32,
  n_penalty: u32,
  top_p: f32,
  temperature: f32,
  penalty: f32,
  seed: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // [.., n] f32
@group(0) @binding(2) var<storage, read> penalised: array<u32>;    // [n_penalty] token ids
@group(0) @binding(3) var<storage, read_write> z: array<f32>;      // [n] scratch
@group(0) @binding(4) var<storage, read_write> out: array<u32>;    // [1] token id

var<workgroup> redf: array<f32, WG>;
var<workgroup> redi: array<u32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> prefix_sh: u32;
var<workgroup> count_sh: u32;
// Compacted candidates after top-k: z values and their token ids, in id order.
const CAP: u32 = 2048u;
var<workgroup> cz: array<f32, CAP>;
var<workgroup> ci: array<u32, CAP>;
var<workgroup> remaining_sh: u32;

// Order-preserving map f32 → u32 (larger float, larger key); NaN maps to 0, below every number.
fn key_of(v: f32) -> u32 {
  if (v != v) {
    return 0u;
  }
  let b = bitcast<u32>(v);
  if ((b & 0x80000000u) != 0u) {
    return ~b;
  }
  return b | 0x80000000u;
}

fn hash(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn gumbel(i: u32) -> f32 {
  let h = hash(hash(i ^ hash(p.seed)) + p.seed);
  let u = (f32(h >> 8u) + 0.5) / 16777216.0; // (0, 1), 24 bits
  return -log(-log(u));
}

// Candidate j of the set the later steps scan: the whole row, or the compacted top-k survivors.
fn cand_z(compact: bool, j: u32) -> f32 {
  if (compact) {
    return cz[j];
  }
  return z[j];
}

fn cand_id(compact: bool, j: u32) -> u32 {
  if (compact) {
    return ci[j];
  }
  return j;
}

// Copies the tokens with key ≥ lo into cz/ci in id order (each thread takes a contiguous slice; an
// exclusive scan of the slice counts gives each its output position). Returns how many there are;
// when more than CAP, nothing is copied and the caller keeps scanning z.
fn compact_kept(lid: u32, lo: u32) -> u32 {
  let chunk = (p.n + WG - 1u) / WG;
  let start = min(lid * chunk, p.n);
  let end = min(start + chunk, p.n);
  var cnt = 0u;
  for (var i = start; i < end; i++) {
    if (key_of(z[i]) >= lo) {
      cnt++;
    }
  }
  redi[lid] = cnt;
  workgroupBarrier();
  for (var off = 1u; off < WG; off <<= 1u) {
    var v = 0u;
    if (lid >= off) {
      v = redi[lid - off];
    }
    workgroupBarrier();
    redi[lid] += v;
    workgroupBarrier();
  }
  if (lid == WG - 1u) {
    count_sh = redi[lid];
  }
  let total = workgroupUniformLoad(&count_sh);
  if (total <= CAP) {
    var pos = redi[lid] - cnt;
    for (var i = start; i < end; i++) {
      let zi = z[i];
      if (key_of(zi) >= lo) {
        cz[pos] = zi;
        ci[pos] = i;
        pos++;
      }
    }
  }
  workgroupBarrier();
  return total;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  redf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      redf[lid] += redf[lid + s];
    }
    workgroupBarrier();
  }
  let r = redf[0];
  workgroupBarrier();
  return r;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  redf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      redf[lid] = max(redf[lid], redf[lid + s]);
    }
    workgroupBarrier();
  }
  let r = redf[0];
  workgroupBarrier();
  return r;
}

// The largest key T with weight(key ≥ T) ≥ target among keys ≥ lo. mass: weights are probabilities
// (exp(z − zmax) / sum, in 2^-24 units) and the target is ceil(top_p · total); else counts and top_k.
fn radix_select(lid: u32, lo: u32, mass: bool, zmax: f32, sum: f32, compact: bool, m: u32) -> u32 {
  var prefix = 0u;
  for (var level = 0u; level < 4u; level++) {
    let shift = 24u - 8u * level;
    let hi_mask = select(0u, 0xffffffffu << (shift + 8u), level > 0u);
    if (lid < 256u) {
      atomicStore(&hist[lid], 0u);
    }
    workgroupBarrier();
    for (var j = lid; j < m; j += WG) {
      let zi = cand_z(compact, j);
      let k = key_of(zi);
      if (k >= lo && (k & hi_mask) == prefix) {
        var wgt = 1u;
        if (mass) {
          wgt = u32(exp(zi - zmax) / sum * 16777216.0 + 0.5);
        }
        atomicAdd(&hist[(k >> shift) & 255u], wgt);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var remaining = remaining_sh;
      if (level == 0u) {
        if (mass) {
          var total = 0u;
          for (var d = 0u; d < 256u; d++) {
            total += atomicLoad(&hist[d]);
          }
          remaining = max(1u, u32(ceil(p.top_p * f32(total))));
        } else {
          remaining = p.top_k;
        }
      }
      var digit = 0u;
      var above = 0u;
      for (var d = 255i; d >= 0i; d--) {
        let c = atomicLoad(&hist[u32(d)]);
        if (above + c >= remaining) {
          digit = u32(d);
          break;
        }
        above += c;
      }
      remaining_sh = remaining - min(above, remaining);
      prefix_sh = prefix | (digit << shift);
    }
    prefix = workgroupUniformLoad(&prefix_sh);
  }
  return prefix;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let greedy = !(p.temperature > 0.0);
  let inv_t = select(1.0 / p.temperature, 1.0, greedy);
  for (var i = lid; i < p.n; i += WG) {
    z[i] = logits[p.offset + i] * inv_t;
  }
  storageBarrier();
  for (var j = lid; j < p.n_penalty; j += WG) {
    let id = penalised[j];
    if (id < p.n) {
      let l = logits[p.offset + id];
      z[id] = select(l * p.penalty, l / p.penalty, l > 0.0) * inv_t;
    }
  }
  storageBarrier();

  var lo = 0u;
  var compact = false;
  var m = p.n;
  if (!greedy) {
    if (p.top_k > 0u && p.top_k < p.n) {
      lo = radix_select(lid, 0u, false, 0.0, 1.0, false, p.n);
      let kept = compact_kept(lid, lo);
      if (kept <= CAP) {
        compact = true;
        m = kept;
      }
    }
    if (p.top_p < 1.0) {
      var mx = -3.4028234663852886e38;
      for (var j = lid; j < m; j += WG) {
        mx = max(mx, cand_z(compact, j));
      }
      let zmax = reduce_max(lid, mx);
      var s = 0.0;
      for (var j = lid; j < m; j += WG) {
        let zi = cand_z(compact, j);
        if (key_of(zi) >= lo) {
          s += exp(zi - zmax);
        }
      }
      let sum = reduce_sum(lid, s);
      lo = max(lo, radix_select(lid, lo, true, zmax, sum, compact, m));
    }
  }

  var bv = -3.4028234663852886e38;
  var bi = 0xffffffffu;
  for (var j = lid; j < m; j += WG) {
    let zi = cand_z(compact, j);
    let i = cand_id(compact, j);
    if (key_of(zi) >= lo && zi == zi) {
      var v = zi;
      if (!greedy) {
        v += gumbel(i);
      }
      if (v > bv || (bi == 0xffffffffu && v == bv) || (v == bv && i < bi)) {
        bv = v;
        bi = i;
      }
    }
  }
  redf[lid] = bv;
  redi[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = redf[lid + s];
      let oi = redi[lid + s];
      if (ov > redf[lid] || (ov == redf[lid] && oi < redi[lid])) {
        redf[lid] = ov;
        redi[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = select(redi[0], 0u, redi[0] == 0xffffffffu);
  }
}
