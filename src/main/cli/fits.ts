// Will a model fit this GPU's buffers? Checked from the config alone, before any weight is made or read,
// so `bench --arch plm-1.8b` on lavapipe (128 MiB storage bindings against PLM's 593 MiB embedding)
// stops with a sentence naming the limit and the way out, not Dawn's validation errors mid-benchmark.
// Every weight is one buffer bound whole, so the largest one must fit maxStorageBufferBindingSize (and
// maxBufferSize); so must one layer's KV cache buffer ([n_ctx, row]). Activations are chunked by the
// engine to the binding limit and need no check here.
import type { ModelConfig } from '../../shared/arch/config';
import { weightSpec } from '../../shared/arch/spec';
import { GpuUnavailableError } from '../../shared/errors';
import { fusedGroups, kvLayout, kvShapeOf, type WeightDtype } from '../engine';

export interface BufferLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface LargestBuffer {
  name: string;
  bytes: number;
}

/** The largest single GPU buffer the weights of `c` need in `dtype` (fused projections counted whole). */
export function largestWeightBuffer(c: ModelConfig, dtype: WeightDtype): LargestBuffer {
  const eb = dtype === 'f16' ? 2 : 4;
  const bytes = (elems: number) => Math.ceil((elems * eb) / 4) * 4;
  const elems = new Map(weightSpec(c).map((s) => [s.name, s.shape.reduce((a, b) => a * b, 1)]));
  let best: LargestBuffer = { name: '', bytes: 0 };
  const consider = (name: string, n: number) => {
    if (bytes(n) > best.bytes) best = { name, bytes: bytes(n) };
  };
  for (const [name, n] of elems) consider(name, n);
  // The loader's own fusion rule (engine/weights/fuse.ts): fused projections are one buffer each.
  for (const g of fusedGroups(c, (name) => elems.has(name))) {
    const parts = g.parts.map((x) => elems.get(x));
    if (parts.every((x) => x !== undefined)) consider(g.name, parts.reduce((x, y) => x! + y!, 0)!);
  }
  return best;
}

/** One layer's KV cache buffer for `nCtx` tokens (the widest, if the variant keeps several). */
export function kvLayerBuffer(c: ModelConfig, nCtx: number, dtype: WeightDtype): LargestBuffer {
  const eb = dtype === 'f16' ? 2 : 4;
  const widest = kvLayout(kvShapeOf(c)).buffers.reduce((a, b) => (b.rowElems > a.rowElems ? b : a));
  return { name: `one layer's "${widest.name}" KV cache for ${nCtx.toLocaleString('en-US')} tokens`, bytes: nCtx * widest.rowElems * eb };
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(b < 2 ** 24 ? 1 : 0)} MiB`;
}

/** The most one buffer may hold and be bound whole on this device. */
export function bindableBytes(l: BufferLimits): number {
  return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
}

/** null when `c` fits; otherwise what does not, in a sentence's first half. */
export function misfit(c: ModelConfig, dtype: WeightDtype, nCtx: number | null, l: BufferLimits): string | null {
  const max = bindableBytes(l);
  const limitName = l.maxStorageBufferBindingSize <= l.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const w = largestWeightBuffer(c, dtype);
  if (w.bytes > max) return `${w.name} needs ${mib(w.bytes)} (${w.bytes.toLocaleString('en-US')} bytes, ${dtype}) in one buffer, more than this GPU binds: ${limitName} ${mib(max)} (${max.toLocaleString('en-US')} bytes)`;
  if (nCtx !== null) {
    const kv = kvLayerBuffer(c, nCtx, dtype);
    if (kv.bytes > max) return `${kv.name} needs ${mib(kv.bytes)} in one buffer, more than this GPU binds: ${limitName} ${mib(max)}`;
  }
  return null;
}

export interface FitTarget {
  name: string;
  config: ModelConfig;
}

/**
 * Throw (GpuUnavailableError) unless every target fits `limits`; the message names each misfit, the limit,
 * and the way out: the `alternatives` that do fit, a smaller model, a GPU with larger bindings.
 */
export function assertFits(targets: FitTarget[], dtype: WeightDtype, nCtx: number | null, limits: BufferLimits, device: string, way: { alternatives?: FitTarget[]; kvFlag?: string }): void {
  const bad = targets.map((t) => ({ t, why: misfit(t.config, dtype, nCtx, limits) })).filter((x) => x.why !== null);
  if (bad.length === 0) return;
  const kvOnly = bad.every((x) => misfit(x.t.config, dtype, null, limits) === null);
  const fits = (way.alternatives ?? []).filter((a) => misfit(a.config, dtype, nCtx, limits) === null).map((a) => a.name);
  const outs = kvOnly && way.kvFlag ? [way.kvFlag] : [];
  if (fits.length > 0) outs.push(`--arch ${fits.join(',')} (shapes that fit this GPU)`);
  outs.push('a smaller model (--model DIR)');
  if (dtype === 'f32' && bad.every((x) => misfit(x.t.config, 'f16', nCtx, limits) === null)) outs.unshift('--dtype f16');
  outs.push('a GPU with larger storage bindings');
  const lines = bad.map((x) => `${x.t.name}: ${x.why}`);
  throw new GpuUnavailableError(`${lines.join('; ')}. This GPU (${device}) cannot hold ${bad.length === 1 ? 'it' : 'them'}: use ${outs.join(', or ')}.`);
}
