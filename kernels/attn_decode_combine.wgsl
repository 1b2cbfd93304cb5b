// Merge the split-K partials of attn_decode: for each head, o = Σ_s e^(m_s − M) o_s / Σ_s e^(m_s − M) l_s
// with M = max_s m_s. One workgroup per head, threads over the value columns.

struct Params {
  n_splits: u32,
  hq: u32,
  dv: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;     // [n_splits, hq, dv] o, then [n_splits, hq, 2] (m, l)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [hq, dv] f32

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.x;
  let ml = p.n_splits * p.hq * p.dv;
  var big = -3.0e38;
  for (var s = 0u; s < p.n_splits; s++) {
    big = max(big, part[ml + (s * p.hq + h) * 2u]);
  }
  var den = 0.0;
  for (var s = 0u; s < p.n_splits; s++) {
    let i = ml + (s * p.hq + h) * 2u;
    den += exp(part[i] - big) * part[i + 1u];
  }
  let inv = 1.0 / den;
  for (var c = tid; c < p.dv; c += 64u) {
    var o = 0.0;
    for (var s = 0u; s < p.n_splits; s++) {
      o += exp(part[ml + (s * p.hq + h) * 2u] - big) * part[(s * p.hq + h) * p.dv + c];
    }
    out[h * p.dv + c] = o * inv;
  }
}
