// rope_angle, rope_turn, rope_pair: shared by every kernel that turns RoPE pairs (rope, rope_store,
// gemv's ROPE epilogue, the fused MLA absorption): appended to their source by the op descriptors (src/main/engine/ops/rope_angle.ts), so
// prompts and decode steps turn a pair by the same f32 angle bit for bit.

const ROPE_TWO_PI: f32 = 6.283185307179586;

// The angle of pair i (of rot_dim / 2) at position pos: pos · theta^(−2i/rot_dim), reduced in turns
// before sin/cos — GPU sin/cos are only accurate near [−π, π], and a position of thousands would
// otherwise lose the rotation entirely.
fn rope_angle(pos: u32, i: u32, rot_dim: u32, theta: f32) -> f32 {
  let inv_freq = pow(theta, -2.0 * f32(i) / f32(rot_dim));
  return fract(f32(pos) * (inv_freq / ROPE_TWO_PI)) * ROPE_TWO_PI;
}

// The pair (x0, x1) turned by pair i's angle at position pos.
fn rope_turn(x0: f32, x1: f32, pos: u32, i: u32, rot_dim: u32, theta: f32) -> vec2f {
  let ang = rope_angle(pos, i, rot_dim, theta);
  let c = cos(ang);
  let s = sin(ang);
  return vec2f(x0 * c - x1 * s, x0 * s + x1 * c);
}

// Where the two elements of pair i of a slice starting at b lie: adjacent (GPT-J, interleaved) or
// i and i + half (rotate-half).
fn rope_pair(b: u32, i: u32, half: u32, interleaved: bool) -> vec2<u32> {
  if (interleaved) {
    return vec2<u32>(b + 2u * i, b + 2u * i + 1u);
  }
  return vec2<u32>(b + i, b + i + half);
}
