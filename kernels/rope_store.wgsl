// After a layer's fused projection (one row per token of src [n, src_stride] f32): RoPE on the query
// heads and key heads in place, then the key slice and the value slice stored into the KV cache at row
// pos0 + t, the value slice optionally RMS-normalised first (MLA's latent, with kv_a_layernorm) and then
// also written, normalised, to `vout` [n, vout_stride] f32. One workgroup per token: what used to be a
// RoPE pass, one or two cache appends and (MLA) a norm pass is one dispatch.
//
// Layout of a src row (elements): query head h at q_base + h·q_head_stride, key head h at k_base +
// h·k_head_stride; dims [rot_off, rot_off + rot_dim) of each head rotate: pairs (i, i + rot_dim/2)
// for Llama's rotate-half, (2i, 2i + 1) when INTERLEAVED; pair i turns by (pos0 + t)·theta^(−2i/rot_dim)
// (kernels/common/rope_angle.wgsl). Stored: src[k_base, k_base + nk·k_head_stride) →
// cache columns [k_dst, …) and src[v_base, v_base + v_width) → [v_dst, …), rows dst_stride apart.
// With KV_F16 two adjacent elements are rounded to f16 and packed in one u32 (low half = even element),
// so widths, offsets and strides are even.

override INTERLEAVED: bool = false;
override KV_F16: bool = true;
override NORM: bool = false;
override W_F16: bool = true; // the norm weight's format

const WG: u32 = 256u;

struct Params {
  n: u32,
  pos0: u32,
  src_stride: u32,
  rot_dim: u32,
  theta: f32,
  nq: u32,
  q_base: u32,
  q_head_stride: u32,
  q_rot_off: u32,
  nk: u32,
  k_base: u32,
  k_head_stride: u32,
  k_rot_off: u32,
  k_dst: u32,
  v_base: u32,
  v_width: u32,
  v_dst: u32,
  dst_stride: u32,
  eps: f32,
  vout_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;   // [n, src_stride] f32, rotated in place
@group(0) @binding(2) var<storage, read_write> cache: array<u32>; // [n_ctx, dst_stride] f16 pairs or f32 bits
@group(0) @binding(3) var<storage, read> nw: array<u32>;          // [v_width] norm weight, NORM only
@group(0) @binding(4) var<storage, read_write> vout: array<f32>;  // [n, vout_stride] f32, NORM only

var<workgroup> red: array<f32, WG>;

fn gload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(nw[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(nw[i]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y * nwg.x + wid.x;
  if (t >= p.n) {
    return; // whole workgroup: barriers below stay in uniform control flow
  }
  let row = t * p.src_stride;
  let half = p.rot_dim / 2u;

  // 1. Rotate every (head, pair) of the query and key heads in place.
  let pairs = (p.nq + p.nk) * half;
  for (var idx = lid; idx < pairs; idx += WG) {
    let i = idx % half;
    let h = idx / half;
    var b = row + p.q_base + h * p.q_head_stride + p.q_rot_off;
    if (h >= p.nq) {
      b = row + p.k_base + (h - p.nq) * p.k_head_stride + p.k_rot_off;
    }
    // kernels/common/rope_angle.wgsl
    let e = rope_pair(b, i, half, INTERLEAVED);
    let r = rope_turn(src[e.x], src[e.y], p.pos0 + t, i, p.rot_dim, p.theta);
    src[e.x] = r.x;
    src[e.y] = r.y;
  }

  // 2. The value slice's mean square (NORM), reduced over the workgroup.
  var scale = 1.0;
  if (NORM) {
    var ss = 0.0;
    for (var j = lid; j < p.v_width; j += WG) {
      let v = src[row + p.v_base + j];
      ss += v * v;
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w >>= 1u) {
      if (lid < w) {
        red[lid] += red[lid + w];
      }
      workgroupBarrier();
    }
    scale = inverseSqrt(red[0] / f32(p.v_width) + p.eps);
  }
  // The rotations of step 1 were written by other invocations of this workgroup.
  storageBarrier();

  // 3. Keys, then values, into the cache row (one invocation per cache word).
  let per = select(1u, 2u, KV_F16);
  let k_words = p.nk * p.k_head_stride / per;
  let v_words = p.v_width / per;
  let dst = (p.pos0 + t) * p.dst_stride;
  for (var wi = lid; wi < k_words + v_words; wi += WG) {
    var a: f32;
    var b: f32 = 0.0;
    var d: u32;
    if (wi < k_words) {
      let e = wi * per;
      a = src[row + p.k_base + e];
      if (KV_F16) {
        b = src[row + p.k_base + e + 1u];
      }
      d = dst + p.k_dst + e;
    } else {
      let e = (wi - k_words) * per;
      a = src[row + p.v_base + e];
      if (KV_F16) {
        b = src[row + p.v_base + e + 1u];
      }
      if (NORM) {
        a *= scale * gload(e);
        let vo = t * p.vout_stride + e;
        vout[vo] = a;
        if (KV_F16) {
          b *= scale * gload(e + 1u);
          vout[vo + 1u] = b;
        }
      }
      d = dst + p.v_dst + e;
    }
    if (KV_F16) {
      cache[d / 2u] = pack2x16float(vec2<f32>(a, b));
    } else {
      cache[d] = bitcast<u32>(a);
    }
  }
}
