// Element decoding for checkpoint tensors: F32/F16/BF16 bytes to f32 (CPU reference) or to packed f16
// bits (GPU upload), with the rounding of ops/convert.ts. Reads go through a DataView so the bytes need
// no particular alignment inside the file buffer (safetensors offsets are not 4-byte aligned in general).
import { f16ToF32, f32BitsToF16 } from '../ops/convert';

export type SafeDtype = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Decode `count` elements of `dtype` from `bytes` to f32 (bf16 widens exactly). */
export function decodeToF32(bytes: Uint8Array, dtype: SafeDtype, count: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
  else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
  } else for (let i = 0; i < count; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
  return out;
}

/** Decode `count` elements of `dtype` from `bytes` to packed f16 bits (an f16 source is copied as is). */
export function decodeToF16(bytes: Uint8Array, dtype: SafeDtype, count: number): Uint16Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(count);
  if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, true);
  else if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = f32BitsToF16(dv.getUint32(i * 4, true));
  else for (let i = 0; i < count; i++) out[i] = f32BitsToF16((dv.getUint16(i * 2, true) << 16) >>> 0);
  return out;
}

/** Count NaN and ±Inf elements of f32 data or of packed f16 bits (Uint16Array). */
export function countNonFinite(data: Float32Array | Uint16Array): number {
  let n = 0;
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  } else {
    for (let i = 0; i < data.length; i++) if ((data[i] & 0x7c00) === 0x7c00) n++;
  }
  return n;
}
