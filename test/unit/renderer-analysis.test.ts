// Pure helpers of the Analysis views (src/renderer/components/analysis/plot.ts): colour scales, array
// decoding, label and axis rules, unit formatting, dendrogram geometry and the exported heatmap SVG.
import { describe, expect, it } from 'vitest';
// plot.ts is renderer code (tsconfig.web.json typechecks it); this node-side test project does not list it.
import { colourLut, decodeArray, dendrogramSegments, f16ToF32, formatFlops, gflop, heatmapSvg, hex, labelStride, lutIndex, mapLabel, parseTaus, reductionLabel, reorder, slug, tokenText } from '../../src/renderer/components/analysis/plot';

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

describe('colour scales', () => {
  it('viridis and magma run from their dark ends to their bright ends', () => {
    const v = colourLut('viridis');
    // matplotlib: viridis(0) = #440154, viridis(1) = #fde725 (the fit is within a few levels).
    const near = (a: string, b: string) => [1, 3, 5].every((k) => Math.abs(parseInt(a.slice(k, k + 2), 16) - parseInt(b.slice(k, k + 2), 16)) <= 6);
    expect(near(hex(v, 0), '#440154')).toBe(true);
    expect(near(hex(v, 255 * 3), '#fde725')).toBe(true);
    const m = colourLut('magma');
    expect(near(hex(m, 0), '#000004')).toBe(true);
    expect(near(hex(m, 255 * 3), '#fcfdbf')).toBe(true);
    // Luminance increases monotonically along viridis (prints in grey scale).
    const lum = (k: number) => 0.2126 * v[3 * k] + 0.7152 * v[3 * k + 1] + 0.0722 * v[3 * k + 2];
    for (let k = 8; k < 256; k += 8) expect(lum(k)).toBeGreaterThan(lum(k - 8));
  });
  it('maps values to indices with clamping and gamma', () => {
    expect(lutIndex(0, 0, 1)).toBe(0);
    expect(lutIndex(1, 0, 1)).toBe(255);
    expect(lutIndex(2, 0, 1)).toBe(255);
    expect(lutIndex(-1, 0, 1)).toBe(0);
    expect(lutIndex(0.25, 0, 1, 0.5)).toBe(128);
    expect(lutIndex(NaN, 0, 1)).toBe(0);
    expect(lutIndex(5, 5, 5)).toBe(0);
  });
});

describe('array payloads', () => {
  it('decodes f32, u32 and f16 little-endian base64', () => {
    const f = new Float32Array([0.5, -2, 1e-3]);
    expect(Array.from(decodeArray({ dtype: 'f32', shape: [3], base64: b64(new Uint8Array(f.buffer)) }))).toEqual(Array.from(f));
    const u = new Uint32Array([1, 70000]);
    expect(Array.from(decodeArray({ dtype: 'u32', shape: [2], base64: b64(new Uint8Array(u.buffer)) }))).toEqual([1, 70000]);
    const h = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]);
    expect(Array.from(decodeArray({ dtype: 'f16', shape: [5], base64: b64(new Uint8Array(h.buffer)) }))).toEqual([1, -2, 0.5, 2 ** -24, Infinity]);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });
});

describe('labels and axis rules', () => {
  it('names maps as heads, or GTA groups with their heads', () => {
    expect(mapLabel('MHA', 3, 1)).toBe('head 3');
    expect(mapLabel('MHA', 3, 1, true)).toBe('h3');
    expect(mapLabel('GTA', 1, 4)).toBe('group 1 (heads 4–7)');
    expect(mapLabel('GTA', 0, 1)).toBe('group 0 (head 0)');
    expect(mapLabel('GTA', 2, 4, true)).toBe('g2');
  });
  it('states the thumbnail reduction', () => {
    expect(reductionLabel('mean', 128, 64)).toBe('block mean of 2×2 tokens (128 tokens → 64×64 cells)');
    expect(reductionLabel('max', 100, 64)).toBe('block max of ≈1.6×1.6 tokens (100 tokens → 64×64 cells)');
    expect(reductionLabel('mean', 40, 40)).toMatch(/^full resolution/);
  });
  it('labels every token when cells are wide enough, else at a round stride', () => {
    expect(labelStride(14, 12)).toBe(1);
    expect(labelStride(5, 12)).toBe(5);
    expect(labelStride(1, 12)).toBe(20);
    expect(labelStride(0.1, 12)).toBe(200);
    expect(labelStride(0)).toBe(Infinity);
  });
  it('shows whitespace in tokens and cuts long ones', () => {
    expect(tokenText(' the')).toBe('·the');
    expect(tokenText('\n')).toBe('↵');
    expect(tokenText('abcdefghijklmnop', 6)).toBe('abcde…');
    expect(tokenText('')).toBe('∅');
  });
  it('parses τ lists and slugs', () => {
    expect(parseTaus('0.05, 0.1 0.2')).toEqual([0.05, 0.1, 0.2]);
    expect(parseTaus('0.1, 2')).toBeNull();
    expect(parseTaus('')).toBeNull();
    expect(slug('Zoo MHA 2.8M')).toBe('zoo-mha-2-8m');
  });
});

describe('units', () => {
  it('formats FLOPs in decimal units and axes in GFLOP', () => {
    expect(formatFlops(1.5e9)).toBe('1.5 GFLOP');
    expect(formatFlops(2_340_000)).toBe('2.34 MFLOP');
    expect(formatFlops(12)).toBe('12 FLOP');
    expect(gflop(2.5e9)).toBe('2.5');
    expect(gflop(5.6e6)).toBe('0.0056');
    expect(gflop(3e2)).toBe('3.0e-7');
    expect(gflop(0)).toBe('0');
  });
});

describe('dendrogram and ordering', () => {
  it('draws a ⊓ per merge at its height, leaves at their order positions', () => {
    // 3 leaves: (0, 2) at 0.1, then with 1 at 0.4; order [0, 2, 1].
    const { segments, maxHeight } = dendrogramSegments(3, [
      { a: 0, b: 2, height: 0.1, size: 2 },
      { a: 1, b: 3, height: 0.4, size: 3 },
    ], [0, 2, 1]);
    expect(maxHeight).toBe(0.4);
    expect(segments).toHaveLength(6);
    expect(segments[2]).toEqual({ x1: 0, y1: 0.1, x2: 1, y2: 0.1 });
    // The second merge joins leaf 1 (x = 2) and cluster 3 (x = 0.5, y = 0.1).
    expect(segments[3]).toEqual({ x1: 2, y1: 0, x2: 2, y2: 0.4 });
    expect(segments[4]).toEqual({ x1: 0.5, y1: 0.1, x2: 0.5, y2: 0.4 });
  });
  it('reorders a matrix symmetrically', () => {
    const m = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    expect(Array.from(reorder(m, 3, [2, 0, 1]))).toEqual([8, 6, 7, 2, 0, 1, 5, 3, 4]);
  });
});

describe('heatmap SVG', () => {
  it('is a standalone SVG with a rect a cell, real text axes, a colour bar and the dendrogram', () => {
    const svg = heatmapSvg({
      title: 'Layer 0: JS <test>',
      values: [0, 0.2, 0.2, 0],
      rows: 2,
      cols: 2,
      scale: 'magma',
      lo: 0,
      hi: 0.2,
      valueLabel: 'mean JS divergence (bits)',
      xTitle: 'map',
      yTitle: 'map',
      xLabels: ['h0', 'h1'],
      yLabels: ['h0', 'h1'],
      dendrogram: { n: 2, merges: [{ a: 0, b: 1, height: 0.2, size: 2 }], order: [0, 1], unit: 'JS (bits)' },
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Layer 0: JS &lt;test&gt;');
    expect(svg.match(/<rect x=/g)!.length).toBeGreaterThanOrEqual(4 + 1);
    expect(svg).toContain('>mean JS divergence (bits)<');
    expect(svg).toContain('>h1<');
    expect(svg).toContain('linearGradient');
    expect(svg.match(/<line /g)!.length).toBeGreaterThanOrEqual(3);
  });
  it('places one image for large matrices instead of a rect a cell', () => {
    const n = 100;
    const svg = heatmapSvg({ title: 't', values: new Float32Array(n * n), rows: n, cols: n, scale: 'viridis', lo: 0, hi: 1, valueLabel: 'v', xTitle: 'x', yTitle: 'y', imageHref: 'data:image/png;base64,AAAA' });
    expect(svg).toContain('<image ');
    expect(svg).not.toContain('<title>');
  });
});
