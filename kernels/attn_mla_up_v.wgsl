// MLA value up-projection after attending over the latent: o_h = W_UV_h · a_h, W_UV_h = rows
// [h·(d_nope+d_v) + d_nope, (h+1)·(d_nope+d_v)) of kv_b_proj [n_h·(d_nope+d_v), d_c].
// Each workgroup computes RPW output rows of one head for NT tokens: TPR lanes per row take the row's
// 16-byte words (8 f16 or 4 f32 weights) lane, lane + TPR, ... (consecutive lanes, consecutive words:
// coalesced whatever the subgroup size), so a decode call (n = 1, ~2 MB of weights) keeps several
// independent loads in flight per thread across tens of thousands of threads. The lanes' partial sums
// meet in workgroup memory (no subgroup builtins).

override W_F16: bool = true;
// VEC: d_c % 8 == 0 (f16) or % 4 (f32): rows are whole 16-byte words. Otherwise one element per step.
override VEC: bool = true;
override NT: u32 = 1u;   // tokens per workgroup, 1..4
override TPR: u32 = 16u; // lanes per row
override RPW: u32 = 8u;  // rows per workgroup
// KW > 0 (hardware drivers): words per row as a pipeline constant, so each lane's loads are a loop of
// constant trip count the driver unrolls with every load issued up front; 0 reads d_c from the uniforms.
override KW: u32 = 0u;
override WGS: u32 = TPR * RPW;

struct Params {
  n: u32,
  nh: u32,
  d_nope: u32,
  d_v: u32,
  d_c: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;        // [n, nh, d_c] f32, attended latent
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;    // kv_b_proj [nh·(d_nope+d_v), d_c], f16 pairs or f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [n, nh, d_v] f32

var<workgroup> part: array<f32, WGS * NT>; // [NT tokens, RPW rows, TPR lanes] lane sums

fn wload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[i >> 3u][(i >> 1u) & 3u])[i & 1u];
  }
  return bitcast<f32>(w[i >> 2u][i & 3u]);
}

fn aload(i: u32) -> f32 {
  return a[i >> 2u][i & 3u];
}

// Word k of a row (element e0 = the row's first element) times the latent of the token at element ab:
// f16, 8 weights against a[ab + 8k ..]; f32, 4 weights against a[ab + 4k ..].
fn word_dot(wv: vec4<u32>, ab: u32, k: u32) -> f32 {
  if (W_F16) {
    let lo = vec4f(unpack2x16float(wv.x), unpack2x16float(wv.y));
    let hi = vec4f(unpack2x16float(wv.z), unpack2x16float(wv.w));
    let i = ab / 4u + 2u * k;
    return dot(lo, a[i]) + dot(hi, a[i + 1u]);
  }
  return dot(bitcast<vec4f>(wv), a[ab / 4u + k]);
}

@compute @workgroup_size(WGS)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let t0 = wg.z * NT;
  let nt = min(NT, p.n - t0);
  let rl = tid / TPR;
  let lane = tid % TPR;
  let r = wg.x * RPW + rl;
  let rc = min(r, p.d_v - 1u); // rows past the end read a valid row and store nothing
  let e0 = (h * (p.d_nope + p.d_v) + p.d_nope + rc) * p.d_c; // the row's first element
  // the latent of token t (clamped to the last real token: padding tokens compute and store nothing)
  let ab0 = (t0 * p.nh + h) * p.d_c;
  let ab1 = ((t0 + min(1u, nt - 1u)) * p.nh + h) * p.d_c;
  let ab2 = ((t0 + min(2u, nt - 1u)) * p.nh + h) * p.d_c;
  let ab3 = ((t0 + min(3u, nt - 1u)) * p.nh + h) * p.d_c;
  var acc = vec4f(0.0); // tokens 0..3
  if (VEC) {
    let nw = select(p.d_c / select(4u, 8u, W_F16), KW, KW > 0u);
    let kpl = (nw + TPR - 1u) / TPR;
    let wb = e0 / select(4u, 8u, W_F16);
    for (var j = 0u; j < kpl; j++) {
      let k = lane + j * TPR;
      if (k < nw) {
        let wv = w[wb + k];
        acc.x += word_dot(wv, ab0, k);
        if (NT > 1u) {
          acc.y += word_dot(wv, ab1, k);
        }
        if (NT > 2u) {
          acc.z += word_dot(wv, ab2, k);
        }
        if (NT > 3u) {
          acc.w += word_dot(wv, ab3, k);
        }
      }
    }
  } else {
    for (var c = lane; c < p.d_c; c += TPR) {
      let wv = wload(e0 + c);
      acc.x += wv * aload(ab0 + c);
      if (NT > 1u) {
        acc.y += wv * aload(ab1 + c);
      }
      if (NT > 2u) {
        acc.z += wv * aload(ab2 + c);
      }
      if (NT > 3u) {
        acc.w += wv * aload(ab3 + c);
      }
    }
  }
  part[tid] = acc.x;
  if (NT > 1u) {
    part[WGS + tid] = acc.y;
  }
  if (NT > 2u) {
    part[2u * WGS + tid] = acc.z;
  }
  if (NT > 3u) {
    part[3u * WGS + tid] = acc.w;
  }
  workgroupBarrier();
  // Output i = (token, row) sums its TPR lanes (four independent chains).
  for (var i = tid; i < NT * RPW; i += WGS) {
    let base = i * TPR;
    var s = vec4f(0.0);
    var l = 0u;
    for (; l + 3u < TPR; l += 4u) {
      s += vec4f(part[base + l], part[base + l + 1u], part[base + l + 2u], part[base + l + 3u]);
    }
    for (; l < TPR; l++) {
      s.x += part[base + l];
    }
    let t = i / RPW;
    let row = wg.x * RPW + i % RPW;
    if (t < nt && row < p.d_v) {
      out[((t0 + t) * p.nh + h) * p.d_v + row] = (s.x + s.y) + (s.z + s.w);
    }
  }
}
