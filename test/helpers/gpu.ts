// Shared helpers for GPU kernel tests: one device per test file (vitest runs each file in its own
// fork, so a module-level cache is per file), seeded random data, NaN poisoning and error metrics.
import { createDevice, requestAdapter } from '../../src/main/engine/gpu/device';
import { GpuRuntime } from '../../src/main/engine/gpu/runtime';
import { f16ToF32, f32ToF16 } from '../../src/main/engine/ops/convert';

let runtime: Promise<GpuRuntime> | null = null;

/** The file's runtime on the first adapter Dawn finds (lavapipe in CI). */
export function gpuRuntime(): Promise<GpuRuntime> {
  runtime ??= (async () => {
    const device = await createDevice(await requestAdapter(), { label: 'test' });
    device.addEventListener('uncapturederror', (e) => {
      throw new Error(`WebGPU validation error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    return new GpuRuntime(device);
  })();
  return runtime;
}

/** Run `record` and fail with the device's message if it raised a validation error. */
export async function checked<T>(rt: GpuRuntime, record: () => T): Promise<T> {
  rt.device.pushErrorScope('validation');
  const out = record();
  rt.submit();
  const err = await rt.device.popErrorScope();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  return out;
}

/** Mulberry32: a small seeded PRNG so every test input is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi), never exactly zero (a zero input hides missing terms). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * r();
    if (v === 0) v = (hi - lo) * 1e-3;
    out[i] = v;
  }
  return out;
}

/** A buffer of `n` f32 NaNs, so that any element a kernel fails to write shows up. */
export function poisonedF32(rt: GpuRuntime, n: number, label: string): GPUBuffer {
  return rt.upload(new Float32Array(n).fill(NaN), label);
}

type Arr = ArrayLike<number>;

export function maxAbsErr(got: Arr, want: Arr): number {
  if (got.length !== want.length) throw new Error(`length mismatch: ${got.length} vs ${want.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    // NaN compares false everywhere: turn it into an infinite error instead.
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** ‖got − want‖₂ / ‖want‖₂. */
export function relL2(got: Arr, want: Arr): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const r = Math.sqrt(num / Math.max(den, 1e-300));
  return Number.isNaN(r) ? Infinity : r;
}

/** Mean squared error normalised by the mean square of the reference. */
export function nmse(got: Arr, want: Arr): number {
  return relL2(got, want) ** 2;
}

/** Rounds f32 values through f16, as packed f16 weights store them. */
export function roundToF16(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f16ToF32(f32ToF16(x[i]));
  return out;
}
