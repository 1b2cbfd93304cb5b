// The shared-map override (analysis, the shared-map test): for each target map h of a layer, replace
// its attention output rows with P_shared·V, P_shared = the mean of the probability rows of its
// members (one member, the medoid: its row as is), V the value head h reads from the cache (the same
// views and element format attn_prefill reads). Maps left out of the target list keep their output.
//   probs [maps, n, width] f32 (the layer's tap, width = pos0 + n, zero beyond the causal limit)
//   mix   [targets, stride] u32: target map, member count c ≥ 1, then c member maps
//   out   [n, hq, DV] f32, rows of the targets overwritten
// One workgroup per (16-row tile, target, 64-column chunk); keys staged 16 at a time.

override KV_F16: bool = true;
override DV: u32 = 64u; // value width; even

const WG: u32 = 64u;
const BQ: u32 = 16u;  // rows per workgroup
const BK: u32 = 16u;  // keys per tile
const DC: u32 = 64u;  // value columns per workgroup
const TPR: u32 = 4u;  // threads per row
const CPT: u32 = 16u; // columns per thread = DC / TPR

struct Params {
  n: u32,
  pos0: u32,
  width: u32,
  hpv: u32,   // query heads per value head
  v_row: u32,
  v_head: u32,
  v_off: u32,
  stride: u32, // u32 per mix row
  targets: u32,
  hq: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> vc: array<u32>;
@group(0) @binding(3) var<storage, read> mix: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> ps: array<f32, BQ * BK>;     // shared probabilities [BQ rows, BK keys]
var<workgroup> vs: array<f32, BK * DC>;     // values [BK keys, DC columns]

fn load_v(idx: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(vc[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(vc[idx]), bitcast<f32>(vc[idx + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let row0 = wg.x * BQ;
  let mrow = wg.y * p.stride;
  let h = mix[mrow];
  let count = max(mix[mrow + 1u], 1u);
  let inv = 1.0 / f32(count);
  let vh = h / p.hpv;
  let c0 = wg.z * DC;
  let row = tid / TPR;
  let sub = tid % TPR;
  let last_row = min(row0 + BQ, p.n) - 1u;
  let kend = min(p.pos0 + last_row + 1u, p.width); // keys the tile's last row sees

  var acc: array<f32, CPT>;
  for (var j = 0u; j < CPT; j++) {
    acc[j] = 0.0;
  }
  for (var k0 = 0u; k0 < kend; k0 += BK) {
    // P_shared tile: BQ·BK entries, 4 per thread.
    for (var e = tid; e < BQ * BK; e += WG) {
      let rr = row0 + e / BK;
      let key = k0 + e % BK;
      var x = 0.0;
      if (rr < p.n && key < kend) {
        for (var m = 0u; m < count; m++) {
          let g = mix[mrow + 2u + m];
          x += probs[(g * p.n + rr) * p.width + key];
        }
      }
      ps[e] = x * inv;
    }
    // V tile: BK keys × DC columns, in pairs.
    for (var e = tid; e < BK * DC / 2u; e += WG) {
      let kk = e / (DC / 2u);
      let d = c0 + (e % (DC / 2u)) * 2u;
      var x = vec2<f32>(0.0);
      if (k0 + kk < kend && d < DV) {
        x = load_v((k0 + kk) * p.v_row + vh * p.v_head + p.v_off + d);
      }
      vs[kk * DC + d - c0] = x.x;
      vs[kk * DC + d - c0 + 1u] = x.y;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let pk = ps[row * BK + kk];
      for (var j = 0u; j < CPT; j++) {
        acc[j] += pk * vs[kk * DC + sub + TPR * j];
      }
    }
    workgroupBarrier();
  }
  let r = row0 + row;
  if (r < p.n) {
    for (var j = 0u; j < CPT; j++) {
      let col = c0 + sub + TPR * j;
      if (col < DV) {
        out[(r * p.hq + h) * DV + col] = acc[j];
      }
    }
  }
}
