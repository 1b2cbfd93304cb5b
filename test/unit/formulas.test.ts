// The formulas against the numbers gta.md and plm.md print.
import { describe, expect, it } from 'vitest';
import { parameterCount } from '../../src/shared/arch/spec';
import { zooConfig, ZOO } from '../../src/shared/arch/zoo';
import { countedFlops, decodeStepFlops, kvBytes, kvParts, kvValuesPerTokenLayer, paperFlops } from '../../src/shared/formulas';

describe('KV cache formulas', () => {
  it('match the paper table values per token per layer for every row', () => {
    for (const z of ZOO) expect(kvValuesPerTokenLayer(zooConfig(z.name)), z.name).toBe(z.paperKvValues);
  });

  it('split the cache into the parts each variant really holds', () => {
    expect(kvParts(zooConfig('GTA-1B'))).toEqual([{ part: 'keys', values: 64 }, { part: 'latent', values: 128 }]);
    expect(kvParts(zooConfig('GQA-1B'))).toEqual([{ part: 'keys', values: 320 }, { part: 'values', values: 320 }]);
    expect(kvParts(zooConfig('PLM-1.8B'))).toEqual([{ part: 'latent', values: 512 }, { part: 'ropeKey', values: 64 }]);
  });

  it('give 20,736 B/token for GTA-1B and 69,120 B for GQA-1B in bf16 over 54 layers', () => {
    expect(kvBytes(zooConfig('GTA-1B')).perToken).toBe(20736);
    expect(kvBytes(zooConfig('GQA-1B')).perToken).toBe(69120);
    const g = kvBytes(zooConfig('GTA-1B'), { tokens: 2048 });
    expect(g.total).toBe(20736 * 2048);
    expect(g.parts).toEqual([
      { part: 'keys', perToken: 64 * 2 * 54, total: 64 * 2 * 54 * 2048 },
      { part: 'latent', perToken: 128 * 2 * 54, total: 128 * 2 * 54 * 2048 },
    ]);
    // GTA-1B caches 30% of GQA-1B
    expect(kvValuesPerTokenLayer(zooConfig('GTA-1B')) / kvValuesPerTokenLayer(zooConfig('GQA-1B'))).toBeCloseTo(0.3, 10);
  });

  it('give PLM-1.8B 576 values, 8.9× less than expanded per-head K/V (5,120)', () => {
    const plm = zooConfig('PLM-1.8B');
    expect(kvValuesPerTokenLayer(plm)).toBe(576);
    expect(kvBytes(plm).perTokenLayer).toBe(1152);
    expect(5120 / 576).toBeCloseTo(8.89, 2);
  });
});

describe('parameter count', () => {
  it('is 1,825,458,176 for PLM-1.8B from its config', () => {
    expect(parameterCount(zooConfig('PLM-1.8B'))).toBe(1_825_458_176);
  });

  it('matches the paper column (units of 2^20) within its rounding for every row', () => {
    for (const z of ZOO.filter((e) => e.paperParamsM !== undefined)) {
      const m = parameterCount(zooConfig(z.name)) / 2 ** 20;
      // the paper prints one decimal; MHA-160M's 178.8 sits 0.08 above the bias-free count
      expect(Math.abs(m - z.paperParamsM!), `${z.name}: ${m.toFixed(2)}`).toBeLessThan(0.1);
    }
    expect(parameterCount(zooConfig('GTA-1B')) / 2 ** 20).toBeCloseTo(1076.5, 1);
    expect(parameterCount(zooConfig('GQA-1B')) / 2 ** 20).toBeCloseTo(1076.4, 1);
  });
});

describe('FLOP formulas', () => {
  const H = 1280;
  const N = 2048;

  it('reproduce Table 4 and its headline ratio 960 / 2560 = 37.5%', () => {
    const gta = paperFlops(zooConfig('GTA-1B'), N);
    const gqa = paperFlops(zooConfig('GQA-1B'), N);
    expect(gta.attention).toBe(960 * N * N);
    expect(gqa.attention).toBe(2560 * N * N);
    expect(gta.attention / gqa.attention).toBe(0.375);
    expect(gqa.linear).toBe(2 * N * H * H + 2 * 5 * 64 * N * H);
    expect(gta.linear).toBe(2 * N * H * H + (5 * 64 + 64 + 128 + 128) * N * H);
    expect(paperFlops(zooConfig('MHA-160M'), N).linear).toBe(4 * N * 768 * 768);
    const plm = paperFlops(zooConfig('PLM-1.8B'), N);
    expect(plm.attention).toBe(16 * (64 + 256) * N * N);
    expect(plm.linear).toBe((576 * 2048 + 16 * 192 * 2048 + 2 * 16 * 512 * 128 + 2048 * 2048) * N);
  });

  it('count real multiply-adds ×2, with and without the causal half', () => {
    const c = zooConfig('GTA-1B');
    const full = countedFlops(c, N, { causal: false });
    const causal = countedFlops(c, N, { causal: true });
    expect(full.attention).toBe(2 * 5 * (64 + 128) * N * N);
    expect(causal.attention).toBe((2 * 5 * (64 + 128) * N * (N + 1)) / 2);
    expect(full.projections).toBe(2 * N * (H * (320 + 64 + 128) + H * H + 5 * 128 * 256 + H * H));
    expect(full.mlp).toBe(2 * N * 3 * H * 3584);
    expect(full.total).toBe(54 * (full.attention + full.projections + full.mlp) + 2 * N * H * 128256);
    // the counted attention is exactly twice the table's term when full maps are counted
    expect(full.attention).toBe(2 * paperFlops(c, N).attention);
    const gqa = countedFlops(zooConfig('GQA-1B'), N, { causal: false });
    expect(gqa.attention).toBe(2 * 20 * 128 * N * N);
    expect(gqa.projections).toBe(2 * N * (H * H + 2 * H * 320 + H * H));
    const plm = countedFlops(zooConfig('PLM-1.8B'), N, { causal: false });
    expect(plm.mlp).toBe(2 * N * 2 * 2048 * 8192); // relu2: up and down only
  });

  it('count a decode step linearly in the context, MLA in absorbed form', () => {
    const T = 1000;
    expect(decodeStepFlops(zooConfig('GTA-1B'), T).attention).toBe(2 * 5 * (64 + 128) * T);
    expect(decodeStepFlops(zooConfig('PLM-1.8B'), T).attention).toBe(2 * 16 * 576 * T + 2 * 16 * 512 * T);
    expect(decodeStepFlops(zooConfig('GQA-1B'), T).attention).toBe(2 * 20 * 128 * T);
  });
});
