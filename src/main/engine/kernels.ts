// The engine's second entry, for kernel checks and micro-benchmarks (tools/bench/*-kbench.ts,
// golden-check.ts): single ops with their CPU twins, the runtime, timers and random fills. Services and
// the CLI use the front door (index.ts) only; lint enforces both.
export { GpuRuntime, type KernelSource } from './gpu/runtime';
export { createDevice, describeAdapter, requestAdapter } from './gpu/device';
export { GpuTimer } from './gpu/timing';
export { fillRandom } from './weights/random';
export { f16ToF32, f32ToF16, f32ToF16Array, f16ToF32Array } from './ops/convert';
export type { LinearArgs } from './ops/linear_common';
export { type MmaConfig, matmulF32, matmulMma, mmaAvailable, mmaKernel } from './ops/matmul';
export { packKv } from './ops/attn_common';
export { attnDecodeScratchBytes, attnDecodeUsesMma, mmaKernel as attnMmaKernel, recordAttnDecode, type AttnDecodeShape } from './ops/attn_decode';
export { gemv } from './ops/gemv';
export * as absorbOp from './ops/attn_mla_absorb_q';
export * as gtaDecodeOp from './ops/attn_gta_decode_v';
export * as upVOp from './ops/attn_mla_up_v';
export * as cpuOps from './cpu/ops';
export { groupedAttention, keysValuesOfRows } from './cpu/attention';
export { argmax } from './generate/sampling';
