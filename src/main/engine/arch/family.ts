// What a family's file supplies to the shared forward pass (gpu.ts): its attention block and the
// activation buffers that block needs.
import type { ModelConfig } from '../../../shared/arch/config';
import type { Act } from './blocks';
import type { Pass } from './pass';

export interface Family<C extends ModelConfig = ModelConfig> {
  /** Activation buffers of the attention block: name → f32 elements per token row. */
  rowBuffers(c: C): Record<string, number>;
  /** Attention maps per layer (heads; GTA: query groups) and the attention output width per map. */
  maps(c: C): { heads: number; dv: number };
  /**
   * Layer L's attention on x [n, H] (already normalised, or the residual stream with Act.norm on a
   * fused step), writing the block's output [n, H] into out, or adding it there when `accumulate`.
   */
  attention(p: Pass, L: number, x: Act, out: GPUBuffer, accumulate: boolean): void;
}
