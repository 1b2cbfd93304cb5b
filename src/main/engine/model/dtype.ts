// Element conversions for checkpoint tensors: decode F32/F16/BF16 bytes to f32 (CPU reference) or
// pack them as f16 bit patterns (GPU upload). Reads go through a DataView so the bytes need no
// particular alignment inside the file buffer (safetensors offsets are not 4-byte aligned in general).

export type SafeDtype = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f16 bit pattern → number. */
export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → f16 bit pattern, round to nearest even, overflow to ±Inf, NaN kept NaN. */
export function numberToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // subnormal: shift the full significand (implicit 1 included) into 10 bits, rounding to even
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // a carry into the exponent is still correct
  return sign | r;
}

/** Decode `count` elements of `dtype` from `bytes` to f32. */
export function decodeToF32(bytes: Uint8Array, dtype: SafeDtype, count: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
  else if (dtype === 'BF16') {
    for (let i = 0; i < count; i++) {
      u32[0] = dv.getUint16(i * 2, true) << 16;
      out[i] = f32[0];
    }
  } else for (let i = 0; i < count; i++) out[i] = f16BitsToNumber(dv.getUint16(i * 2, true));
  return out;
}

/** Decode `count` elements of `dtype` from `bytes` to packed f16 bits (an f16 source is copied as is). */
export function decodeToF16(bytes: Uint8Array, dtype: SafeDtype, count: number): Uint16Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(count);
  if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, true);
  else if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = numberToF16Bits(dv.getFloat32(i * 4, true));
  else {
    for (let i = 0; i < count; i++) {
      u32[0] = dv.getUint16(i * 2, true) << 16;
      out[i] = numberToF16Bits(f32[0]);
    }
  }
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
