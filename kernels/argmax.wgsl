// Greedy pick on the GPU: out[0] = argmax of logits[offset, offset + n), in two dispatches so a
// 150K-token vocabulary is spread over many workgroups; only the 4-byte id is read back.
//   chunks: workgroup g reduces the chunk [g·chunk, (g+1)·chunk) to (value, index) in part[2g..2g+1].
//   parts:  one workgroup reduces the n_parts partials and writes the id.
// Ties go to the lowest index (as a CPU scan would); NaN never wins.

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;

struct Params {
  n: u32,
  offset: u32,
  chunk: u32,
  n_parts: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> part: array<u32>;   // [n_parts, 2]: f32 bits, index
@group(0) @binding(2) var<storage, read> logits: array<f32>;       // [.., n] f32, chunks only
@group(0) @binding(3) var<storage, read_write> out: array<u32>;    // [1] token id, parts only

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

// Folds (v, i) into the running best; indices arrive ascending per thread, so strict > keeps the first.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

fn wg_reduce(lid: u32, v: f32, i: u32) {
  best_v[lid] = v;
  best_i[lid] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
      best_v[lid] = best_v[lid + s];
      best_i[lid] = best_i[lid + s];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn chunks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.chunk;
  let end = min(start + p.chunk, p.n);
  var bv = 0.0;
  var bi = NONE;
  for (var i = start + lid; i < end; i += WG) {
    let v = logits[p.offset + i];
    if (v == v && better(v, i, bv, bi)) {
      bv = v;
      bi = i;
    }
  }
  wg_reduce(lid, bv, bi);
  if (lid == 0u) {
    part[2u * wid.x] = bitcast<u32>(best_v[0]);
    part[2u * wid.x + 1u] = best_i[0];
  }
}

@compute @workgroup_size(WG)
fn parts(@builtin(local_invocation_index) lid: u32) {
  var bv = 0.0;
  var bi = NONE;
  for (var g = lid; g < p.n_parts; g += WG) {
    let v = bitcast<f32>(part[2u * g]);
    let i = part[2u * g + 1u];
    if (better(v, i, bv, bi)) {
      bv = v;
      bi = i;
    }
  }
  wg_reduce(lid, bv, bi);
  if (lid == 0u) {
    out[0] = select(best_i[0], 0u, best_i[0] == NONE);
  }
}
