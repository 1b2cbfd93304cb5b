// f32/bf16 → f16 conversion: exhaustive round trip over every f16 pattern, rounding ties to even,
// overflow, subnormals, NaN; and the packing the kernels rely on (even element in the low half).
import { describe, expect, it } from 'vitest';
import { bf16ToF16Array, f16ToF32, f16ToF32Array, f32ToF16, f32ToF16Array } from '../../../src/main/engine/ops/convert';

describe('f16 conversion', () => {
  it('every finite f16 value survives f16 → f32 → f16', () => {
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >>> 10) & 0x1f;
      if (exp === 0x1f && (h & 0x3ff) !== 0) continue; // NaNs are checked separately
      expect(f32ToF16(f16ToF32(h))).toBe(h);
    }
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 lies exactly between 1 and the next f16 (1 + 2^-10): ties to the even 1.
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 lies between 1+2^-10 (odd) and 1+2^-9 (even): goes up.
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('handles overflow, infinities, NaN, signed zero and subnormals', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // rounds past the largest finite value
    expect(f32ToF16(1e9)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24: even is 0
    expect(f32ToF16(1.5 * 2 ** -25)).toBe(0x0001);
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the smallest normal
    expect(f32ToF16(1e-10)).toBe(0);
  });

  it('bf16 → f16 matches f32 → f16 of the widened value', () => {
    const bf = Uint16Array.from([0x3f80, 0xc2f7, 0x7f80, 0x0001, 0x477f, 0x4780, 0x3c01]);
    const widened = new Float32Array(new Uint32Array([...bf].map((b) => (b << 16) >>> 0)).buffer);
    expect([...bf16ToF16Array(bf)]).toEqual([...f32ToF16Array(widened)]);
    expect(f16ToF32Array(bf16ToF16Array(Uint16Array.from([0x3f80, 0xc2f7])))).toEqual(Float32Array.from([1, -123.5]));
  });

  it('packs the even element into the low half of each u32', () => {
    const packed = new Uint32Array(f32ToF16Array(Float32Array.from([1, -2])).buffer);
    expect(packed[0] & 0xffff).toBe(0x3c00);
    expect(packed[0] >>> 16).toBe(0xc000);
  });
});
