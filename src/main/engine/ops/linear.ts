// A linear layer, y = x·Wᵀ (+ bias) (+ y): GEMV while the rows fit one batched pass over the
// weights (decode, a few speculative rows), the tiled matmul beyond (prefill).
import type { GpuRuntime } from '../gpu/runtime';
import { GEMV_MAX_BATCH, gemv } from './gemv';
import type { LinearArgs } from './linear_common';
import { matmul } from './matmul';
import { opError } from './uniforms';

export type { LinearArgs, LinearShape } from './linear_common';
export { bytes, flops } from './linear_common';

export function linear(rt: GpuRuntime, a: LinearArgs): void {
  if (a.rows <= GEMV_MAX_BATCH) gemv(rt, a);
  else if (a.rope) throw opError('linear', `a fused RoPE needs one row (GEMV); ${a.rows} given`);
  else if (a.norm) throw opError('linear', `a fused RMSNorm needs one row (GEMV); ${a.rows} given`);
  else if (a.act) throw opError('linear', `a fused activation needs at most ${GEMV_MAX_BATCH} rows (GEMV); ${a.rows} given`);
  else matmul(rt, a);
}
