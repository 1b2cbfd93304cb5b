// A linear layer, y = x·Wᵀ (+ bias) (+ y): GEMV while the rows fit one batched pass over the
// weights (decode, a few speculative rows), the tiled matmul beyond (prefill).
import type { GpuRuntime } from '../gpu/runtime';
import { GEMV_MAX_BATCH, gemv } from './gemv';
import type { LinearArgs } from './linear_common';
import { matmul } from './matmul';

export type { LinearArgs, LinearShape } from './linear_common';
export { bytes, flops } from './linear_common';

export function linear(rt: GpuRuntime, a: LinearArgs): void {
  if (a.rows <= GEMV_MAX_BATCH) gemv(rt, a);
  else matmul(rt, a);
}
