// Pieces shared by the attention op descriptors: the KV cache element format, head-group arithmetic,
// uniform packing and shape checks.
import { WorkbenchError } from '../../../shared/errors';
import { f32ToF16 } from './convert';

/** How a KV cache stores elements in its `array<u32>`: two f16 per word, or one f32 per word. */
export type KvFormat = 'f16' | 'f32';

export function kvBytesPerElement(fmt: KvFormat): number {
  return fmt === 'f16' ? 2 : 4;
}

/**
 * Where one head's vector of a cache row lives: element (row j, head h, d) is at
 * j·row + h·head + off + d (elements). Defaults describe a dense [n_ctx, heads, width] cache.
 */
export interface CacheView {
  row?: number;
  head?: number;
  off?: number;
}

export function resolveView(v: CacheView | undefined, heads: number, width: number): Required<CacheView> {
  return { row: v?.row ?? heads * width, head: v?.head ?? width, off: v?.off ?? 0 };
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export function shapeError(op: string, msg: string): WorkbenchError {
  return new WorkbenchError(`${op}: ${msg}. This is a bug in the model's forward pass; report it with the model config.`);
}

/** Checks that query heads split evenly over key and value heads, and returns the head-unit size. */
export function headUnits(op: string, hq: number, hk: number, hv: number): { hpk: number; hpv: number; gu: number; units: number } {
  if (hk < 1 || hv < 1 || hq % hk !== 0 || hq % hv !== 0) {
    throw shapeError(op, `${hq} query heads do not split evenly over ${hk} key heads and ${hv} value heads`);
  }
  const hpk = hq / hk;
  const hpv = hq / hv;
  const gu = gcd(hpk, hpv);
  return { hpk, hpv, gu, units: hq / gu };
}

export function requireEven(op: string, fields: Record<string, number>): void {
  for (const [name, v] of Object.entries(fields)) {
    if (!Number.isInteger(v) || v < 0 || v % 2 !== 0) throw shapeError(op, `${name} = ${v} must be a non-negative even integer (caches pack f16 in pairs)`);
  }
}

/** Packs a uniform struct whose fields are all 4 bytes; `f32` names the float fields. Padded to 16 bytes. */
export function packUniform(fields: Record<string, number>, f32: string[] = []): ArrayBuffer {
  const names = Object.keys(fields);
  const buf = new ArrayBuffer(Math.ceil(names.length / 4) * 16);
  const dv = new DataView(buf);
  names.forEach((name, i) => {
    if (f32.includes(name)) dv.setFloat32(i * 4, fields[name], true);
    else dv.setUint32(i * 4, fields[name], true);
  });
  return buf;
}

/** CPU values → the cache's words (f16 rounded to nearest even, pairs packed low half first). */
export function packKv(values: ArrayLike<number>, fmt: KvFormat): Uint32Array {
  if (fmt === 'f32') return new Uint32Array(Float32Array.from(values).buffer);
  if (values.length % 2 !== 0) throw shapeError('packKv', `${values.length} values cannot be packed in f16 pairs`);
  const out = new Uint32Array(values.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (f32ToF16(values[2 * i]) | (f32ToF16(values[2 * i + 1]) << 16)) >>> 0;
  return out;
}
