// Next-token NLL per row (analysis, the shared-map test): logits [m, vocab] f32 of rows pos0 .. pos0+m−1,
// ids [T] u32 the whole text → out[pos0 + r] = logsumexp(logits[r]) − logits[r][ids[pos0 + r + 1]] (nats),
// 0 for the text's last row (nothing to predict). One workgroup per row, linearised over a 2-D grid.

const WG: u32 = 256u;

struct Params {
  m: u32,
  vocab: u32,
  pos0: u32,
  t: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;    // [m, vocab]
@group(0) @binding(2) var<storage, read> ids: array<u32>;       // [T]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [T]

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.m) {
    return;
  }
  let base = r * p.vocab;
  var mx = -3.0e38;
  for (var j = tid; j < p.vocab; j += WG) {
    mx = max(mx, logits[base + j]);
  }
  red[tid] = mx;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (tid < s) {
      red[tid] = max(red[tid], red[tid + s]);
    }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = tid; j < p.vocab; j += WG) {
    sum += exp(logits[base + j] - m);
  }
  red[tid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (tid < s) {
      red[tid] += red[tid + s];
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let i = p.pos0 + r;
    if (i < p.t) {
      var v = 0.0;
      if (i + 1u < p.t) {
        let tgt = min(ids[i + 1u], p.vocab - 1u);
        v = log(red[0]) + m - logits[base + tgt];
      }
      out[i] = v;
    }
  }
}
