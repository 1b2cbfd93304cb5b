// Weight conversion on the CPU at load time: bf16/f32 → f16 bits, packed so that a Uint16Array's
// bytes are exactly the `array<u32>` the kernels read (little-endian: element 2k in the low half of
// word k). Rounding is round-to-nearest-even, as a GPU conversion would do.

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);

/** The f16 bit pattern nearest to `value` (ties to even); overflow gives ±inf, NaN stays NaN. */
export function f32ToF16(value: number): number {
  f32Buf[0] = value;
  return f32BitsToF16(u32Buf[0]);
}

/** As f32ToF16, from the f32's bit pattern (so bf16 can be widened by a shift). */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // inf keeps an empty mantissa; NaN keeps its top payload bits and stays quiet.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal f16 (or zero): shift the mantissa with its implicit 1 into place, then round.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out++;
    return sign | out; // a carry into the exponent field yields the smallest normal, correctly
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out++; // carry may round up to inf: correct
  return sign | out;
}

/** The value of an f16 bit pattern. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f32 values → f16 bits, ready to upload as packed `array<u32>` weights. */
export function f32ToF16Array(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** bf16 bits (as stored in safetensors) → f16 bits. bf16 widens to f32 exactly, so one rounding. */
export function bf16ToF16Array(src: Uint16Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16((src[i] << 16) >>> 0);
  return out;
}

/** f16 bits → f32 values (for CPU references that must see the weights the GPU sees). */
export function f16ToF32Array(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f16ToF32(src[i]);
  return out;
}
