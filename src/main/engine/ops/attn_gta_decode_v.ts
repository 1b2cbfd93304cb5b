// Op: GTA value decoder fused with the sigmoid gate (kernels/attn_gta_decode_v.wgsl).
import code from '../../../../kernels/attn_gta_decode_v.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { packUniform, requireEven, shapeError } from './attn_common';

const kernel: KernelSource = { name: 'attn_gta_decode_v', code };
const WG = 64;
const NT = 4;
const MAX_DL = 512;

/** GTA-1B: nq 5, dl 128, e 2 (H = nq·e·dl = 1280). */
export interface GtaDecodeVShape {
  n: number; // tokens (prefill n, decode 1)
  nq: number; // query groups
  dl: number; // latent width (value_dim)
  e: number; // hidden_size / (nq·dl)
  wF16: boolean; // v_b_proj stored as packed f16 (else f32)
}

/**
 * a: [n, nq, dl] f32 (attention output per group, values = latent); w: v_b_proj's raw [e·dl, nq·dl]
 * tensor as array<u32>, read as [nq, dl, e·dl]; gate: [n, H] f32 (or H columns of wider rows), g_proj output (bias included) BEFORE the
 * sigmoid; out: [n, H] f32 = (tile(a_g, e) + a_g·W_vb[g]) ⊙ sigmoid(gate), the input of o_proj.
 */
export function recordGtaDecodeV(
  rt: GpuRuntime,
  b: { a: GPUBuffer; w: GPUBuffer; gate: GPUBuffer; out: GPUBuffer },
  s: GtaDecodeVShape,
  /** Where the gate sits: rows `stride` elements apart, from column `offset` (default: dense [n, H]). */
  gateAt: { stride?: number; offset?: number } = {},
): void {
  requireEven('attn_gta_decode_v', { width: s.e * s.dl });
  if (s.dl > MAX_DL) throw shapeError('attn_gta_decode_v', `value_dim ${s.dl} exceeds ${MAX_DL}`);
  if (s.n < 1) return;
  const H = s.nq * s.e * s.dl;
  const gateStride = gateAt.stride ?? H;
  const gateOff = gateAt.offset ?? 0;
  if (gateOff + H > gateStride) throw shapeError('attn_gta_decode_v', `the gate's ${H} values at column ${gateOff} exceed its row of ${gateStride}`);
  const u = rt.uniform(packUniform({ n: s.n, nq: s.nq, dl: s.dl, e: s.e, gateStride, gateOff, pad0: 0, pad1: 0 }));
  const pipe = rt.pipeline(kernel, { W_F16: s.wF16 ? 1 : 0, DL: s.dl });
  rt.dispatch(pipe, [u, b.a, b.w, b.gate, b.out], [Math.ceil((s.e * s.dl) / 2 / WG), s.nq, Math.ceil(s.n / NT)], 'attn_gta_decode_v');
}

/** Multiply-adds ×2 of a_g·W_vb[g]; the residual add and the gate product counted as one FLOP each, the sigmoid as 4. */
export function gtaDecodeVFlops(s: GtaDecodeVShape): number {
  const H = s.nq * s.e * s.dl;
  return 2 * s.n * s.nq * s.dl * s.e * s.dl + s.n * H * 6;
}

/** W_vb read once per NT tokens; a, gate in; out. */
export function gtaDecodeVBytes(s: GtaDecodeVShape): number {
  const H = s.nq * s.e * s.dl;
  return Math.ceil(s.n / NT) * s.nq * s.dl * s.e * s.dl * (s.wF16 ? 2 : 4) + 4 * s.n * (s.nq * s.dl + 2 * H);
}
