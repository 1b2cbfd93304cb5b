// Row-sliced GEMV helpers shared by the per-head decode kernels (attn_mla_absorb_q.wgsl,
// attn_gta_decode_v.wgsl; appended to each by its op, src/main/engine/ops/row_slices.ts). A thread
// accumulates 8 adjacent output columns (W8) over its slice of the rows, the RS partial sums of each
// output meet in workgroup memory (`part`), and slice_sum adds them up.
// The including kernel declares: `w: array<vec4<u32>>` (the weight rows, f16 pairs or f32 bits),
// `part: array<f32, RS * M>`, and the overrides W_F16, VEC, RS and M.

struct W8 {
  lo: vec4f, // columns c .. c+3
  hi: vec4f, // columns c+4 .. c+7
}

// One column pair from element e (even) of the weights, zero when not ok.
fn pair(e: u32, ok: bool) -> vec2f {
  if (!ok) {
    return vec2f(0.0);
  }
  if (W_F16) {
    return unpack2x16float(w[e >> 3u][(e >> 1u) & 3u]);
  }
  return vec2f(bitcast<f32>(w[e >> 2u][e & 3u]), bitcast<f32>(w[(e + 1u) >> 2u][(e + 1u) & 3u]));
}

// Eight weights from element e; `valid` of them are in the row (8 on the VEC path).
fn load8(e: u32, valid: u32) -> W8 {
  if (VEC) {
    if (W_F16) {
      let v = w[e >> 3u];
      return W8(vec4f(unpack2x16float(v.x), unpack2x16float(v.y)), vec4f(unpack2x16float(v.z), unpack2x16float(v.w)));
    }
    let i = e >> 2u;
    return W8(bitcast<vec4f>(w[i]), bitcast<vec4f>(w[i + 1u]));
  }
  return W8(vec4f(pair(e, valid > 0u), pair(e + 2u, valid > 2u)), vec4f(pair(e + 4u, valid > 4u), pair(e + 6u, valid > 6u)));
}

fn store8(i: u32, v: W8) {
  part[i] = v.lo.x;
  part[i + 1u] = v.lo.y;
  part[i + 2u] = v.lo.z;
  part[i + 3u] = v.lo.w;
  part[i + 4u] = v.hi.x;
  part[i + 5u] = v.hi.y;
  part[i + 6u] = v.hi.z;
  part[i + 7u] = v.hi.w;
}

fn fma8(acc: W8, x: f32, wv: W8) -> W8 {
  return W8(acc.lo + x * wv.lo, acc.hi + x * wv.hi);
}

// Output i's RS slices summed (four independent chains).
fn slice_sum(i: u32) -> f32 {
  var s = vec4f(0.0);
  var k = 0u;
  for (; k + 3u < RS; k += 4u) {
    s += vec4f(part[k * M + i], part[(k + 1u) * M + i], part[(k + 2u) * M + i], part[(k + 3u) * M + i]);
  }
  for (; k < RS; k++) {
    s.x += part[k * M + i];
  }
  return (s.x + s.y) + (s.z + s.w);
}
