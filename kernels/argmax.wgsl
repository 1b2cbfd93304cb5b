// Greedy pick on the GPU: out[0] = argmax of logits[offset, offset + n), one workgroup, so only the
// 4-byte id is read back. Ties go to the lowest index (as a CPU scan would); NaN never wins.

const WG: u32 = 256u;

struct Params {
  n: u32,
  offset: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // [.., n] f32
@group(0) @binding(2) var<storage, read_write> out: array<u32>;    // [1] token id

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var bv = -3.4028234663852886e38;
  var bi = 0xffffffffu;
  for (var i = lid; i < p.n; i += WG) {
    let v = logits[p.offset + i];
    // Strictly greater keeps the first index within a thread (its indices ascend); NaN fails it.
    if (v > bv || (bi == 0xffffffffu && v == bv)) {
      bv = v;
      bi = i;
    }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) {
        best_v[lid] = ov;
        best_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = select(best_i[0], 0u, best_i[0] == 0xffffffffu);
  }
}
