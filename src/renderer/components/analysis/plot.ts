// Pure helpers of the Analysis views: colour scales, array decoding, axis and label rules, unit
// formatting, dendrogram geometry and the SVG a canvas heatmap exports as. No DOM, no Vue: unit-tested
// in test/unit/renderer-analysis.test.ts.
import type { ArrayPayload, Merge } from '../../../shared/analysis/types';

// ---------- colour scales ----------
// Polynomial fits of matplotlib's viridis and magma (perceptually uniform, colour-blind safe, and
// legible in grey scale when printed). t in [0, 1] → [r, g, b] in [0, 1].
type Poly = readonly (readonly [number, number, number])[];
const VIRIDIS: Poly = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];
const MAGMA: Poly = [
  [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
  [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
  [8.353717279216625, -3.577719514958484, 0.3144679030132573],
  [-27.66873308576866, 14.26473078096533, -13.64921318813922],
  [52.17613981234068, -27.94360607168351, 12.94416944238394],
  [-50.76852536473588, 29.04658282127291, 4.23415299384598],
  [18.65570506591883, -11.48977351997711, -5.601961508734096],
];

export type ScaleName = 'viridis' | 'magma';

function evalPoly(p: Poly, t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let v = p[p.length - 1][c];
    for (let k = p.length - 2; k >= 0; k--) v = v * x + p[k][c];
    out[c] = Math.min(1, Math.max(0, v));
  }
  return out;
}

/** 256 RGB entries of a scale, as bytes: lut[3·i + c]. */
export function colourLut(name: ScaleName): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const rgb = evalPoly(name === 'viridis' ? VIRIDIS : MAGMA, i / 255);
    for (let c = 0; c < 3; c++) lut[3 * i + c] = Math.round(rgb[c] * 255);
  }
  return lut;
}

const LUTS: Partial<Record<ScaleName, Uint8ClampedArray>> = {};
export function lut(name: ScaleName): Uint8ClampedArray {
  return (LUTS[name] ??= colourLut(name));
}

export function hex(rgb: ArrayLike<number>, at = 0): string {
  return `#${[0, 1, 2].map((c) => Math.round(rgb[at + c]).toString(16).padStart(2, '0')).join('')}`;
}

/** The colour of value v on [lo, hi] (gamma < 1 lifts faint values: √ for 0.5). */
export function colourOf(name: ScaleName, v: number, lo: number, hi: number, gamma = 1): string {
  return hex(lut(name), 3 * lutIndex(v, lo, hi, gamma));
}

export function lutIndex(v: number, lo: number, hi: number, gamma = 1): number {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  const g = Math.pow(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)), gamma);
  return Math.round(g * 255);
}

/**
 * Paints an h×w block of `data` (from `offset`, row-major) into RGBA pixels with a colour scale;
 * values outside [lo, hi] clamp. Used for every canvas heatmap and thumbnail.
 */
export function paint(data: ArrayLike<number>, offset: number, w: number, h: number, out: Uint8ClampedArray, scale: ScaleName, lo: number, hi: number, gamma = 1): void {
  const table = lut(scale);
  for (let i = 0; i < w * h; i++) {
    const k = 3 * lutIndex(data[offset + i], lo, hi, gamma);
    out[4 * i] = table[k];
    out[4 * i + 1] = table[k + 1];
    out[4 * i + 2] = table[k + 2];
    out[4 * i + 3] = 255;
  }
}

/** Largest value of a block (colour normalisation per map). */
export function maxOf(data: ArrayLike<number>, offset = 0, length = data.length - offset): number {
  let m = 0;
  for (let i = offset; i < offset + length; i++) if (data[i] > m) m = data[i];
  return m;
}

// ---------- arrays ----------
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** An API array payload as numbers (f16 widened to f32; little-endian as the contract says). */
export function decodeArray(p: ArrayPayload): Float32Array {
  const bin = atob(p.base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const size = p.dtype === 'f16' ? 2 : 4;
  const n = Math.floor(bytes.length / size);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (p.dtype === 'f32') out[i] = view.getFloat32(4 * i, true);
    else if (p.dtype === 'u32') out[i] = view.getUint32(4 * i, true);
    else out[i] = f16ToF32(view.getUint16(2 * i, true));
  }
  return out;
}

// ---------- labels and axis rules ----------
/** "head 3", or for GTA (heads of a group share one map) "group 1 (heads 4–7)". */
export function mapLabel(variant: string, map: number, headsPerMap: number, short = false): string {
  if (variant === 'GTA' || headsPerMap > 1) {
    const a = map * headsPerMap;
    const b = a + headsPerMap - 1;
    if (short) return `g${map}`;
    return headsPerMap > 1 ? `group ${map} (heads ${a}–${b})` : `group ${map} (head ${a})`;
  }
  return short ? `h${map}` : `head ${map}`;
}

/** What a thumbnail cell is: "block mean of 2×2 tokens" (or ≈k when T does not divide evenly). */
export function reductionLabel(reduce: 'mean' | 'max', tokens: number, side: number): string {
  if (side >= tokens) return `full resolution (${tokens}×${tokens} tokens, one cell a token)`;
  const k = tokens / side;
  const kk = Number.isInteger(k) ? String(k) : k.toFixed(1);
  return `block ${reduce} of ${Number.isInteger(k) ? '' : '≈'}${kk}×${kk} tokens (${tokens} tokens → ${side}×${side} cells)`;
}

/**
 * Every how-many'th token gets a label when a token cell is `cellPx` wide and a label needs
 * `labelPx`: 1 when cells are wide enough, else a round stride (1, 2, 5, 10, 20, 50 …).
 */
export function labelStride(cellPx: number, labelPx = 12): number {
  if (cellPx <= 0) return Infinity;
  const need = labelPx / cellPx;
  if (need <= 1) return 1;
  for (let m = 1; ; m *= 10) for (const s of [1, 2, 5]) if (s * m >= need) return s * m;
}

/** Token text as an axis label: whitespace made visible, long tokens cut. */
export function tokenText(t: string | undefined, max = 12): string {
  if (t === undefined) return '';
  const shown = t.replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/ /g, '·');
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown || '∅';
}

// ---------- units ----------
export function formatFlops(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '—';
  const units = ['FLOP', 'kFLOP', 'MFLOP', 'GFLOP', 'TFLOP', 'PFLOP'];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${v < 0 ? '-' : ''}${Number(x.toPrecision(digits))} ${units[i]}`;
}

/** An axis in GFLOP (the brief's unit) as ECharts formats it: exact at small magnitudes too. */
export function gflop(v: number): string {
  const g = v / 1e9;
  if (g === 0) return '0';
  return Math.abs(g) >= 1e-6 ? String(Number(g.toPrecision(3))) : g.toExponential(1);
}

export function pct(v: number, digits = 2): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)} %`;
}

// ---------- dendrogram ----------
export interface Segment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * The lines of a dendrogram (scipy's linkage: cluster ids ≥ n are merges in order), with leaves at
 * x = their position in `order` (0 … n−1) and y = merge height. Each merge draws a ⊓: two verticals
 * from the children's heights and a horizontal at its own.
 */
export function dendrogramSegments(n: number, merges: Merge[], order: number[]): { segments: Segment[]; maxHeight: number } {
  const x = new Map<number, number>();
  const y = new Map<number, number>();
  order.forEach((leaf, pos) => {
    x.set(leaf, pos);
    y.set(leaf, 0);
  });
  const segments: Segment[] = [];
  let maxHeight = 0;
  merges.forEach((m, k) => {
    const xa = x.get(m.a) ?? 0;
    const xb = x.get(m.b) ?? 0;
    const ya = y.get(m.a) ?? 0;
    const yb = y.get(m.b) ?? 0;
    segments.push({ x1: xa, y1: ya, x2: xa, y2: m.height }, { x1: xb, y1: yb, x2: xb, y2: m.height }, { x1: xa, y1: m.height, x2: xb, y2: m.height });
    x.set(n + k, (xa + xb) / 2);
    y.set(n + k, m.height);
    maxHeight = Math.max(maxHeight, m.height);
  });
  return { segments, maxHeight };
}

/** A matrix [n·n] reordered: out[i][j] = m[order[i]][order[j]]. */
export function reorder(m: ArrayLike<number>, n: number, order: number[]): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = m[order[i] * n + order[j]];
  return out;
}

// ---------- SVG ----------
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface HeatmapSvgInput {
  title: string;
  /** Row-major values [rows·cols]. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  scale: ScaleName;
  lo: number;
  hi: number;
  gamma?: number;
  /** Legend caption with its unit, e.g. "mean JS divergence (bits)". */
  valueLabel: string;
  xTitle: string;
  yTitle: string;
  xLabels?: string[];
  yLabels?: string[];
  /** Side of a cell in SVG units (default: fits 480). */
  cell?: number;
  /** A dendrogram drawn above the columns (leaf order = column order), heights in `dendrogramUnit`. */
  dendrogram?: { n: number; merges: Merge[]; order: number[]; unit: string };
  /**
   * For large matrices: a PNG data URL of the cells (one pixel a cell) placed as one image instead of
   * rows·cols rects; axes and text stay real SVG text.
   */
  imageHref?: string;
  /** Grid lines drawn every `blocks` cells (e.g. layer boundaries in the all-layers matrix). */
  blocks?: number;
  /** On-screen dark theme: transparent background and light text. Exports are always light. */
  dark?: boolean;
}

const FONT = 'font-family="Inter, Helvetica, Arial, sans-serif"';

/** A complete standalone SVG document of a heatmap: cells, axis titles, tick labels and a colour bar. */
export function heatmapSvg(o: HeatmapSvgInput): string {
  const cell = o.cell ?? Math.max(1, Math.min(40, 480 / Math.max(o.rows, o.cols)));
  const w = o.cols * cell;
  const h = o.rows * cell;
  const yLabelW = o.yLabels ? Math.min(110, 8 + 6.2 * Math.max(...o.yLabels.map((l) => l.length), 1)) : 24;
  const xLabelH = o.xLabels ? Math.min(110, 8 + 6.2 * Math.max(...o.xLabels.map((l) => l.length), 1)) : 24;
  const dendroH = o.dendrogram ? 90 : 0;
  const left = 34 + yLabelW;
  const top = (o.title ? 30 : 10) + dendroH;
  const legendW = 86;
  const width = Math.ceil(left + w + 18 + legendW);
  const height = Math.ceil(top + h + xLabelH + 30);
  const ink = o.dark ? '#dcdee3' : '#1f2329';
  const ink2 = o.dark ? '#a0a5b1' : '#3c4250';
  const ink3 = o.dark ? '#8a8f9b' : '#5c6270';
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="11">`);
  if (!o.dark) parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (o.title) parts.push(`<text x="${left}" y="18" font-size="13" font-weight="600" fill="${ink}">${escapeXml(o.title)}</text>`);
  const g = o.gamma ?? 1;
  if (o.imageHref) {
    parts.push(`<image x="${left}" y="${top}" width="${w}" height="${h}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${escapeXml(o.imageHref)}" xlink:href="${escapeXml(o.imageHref)}"/>`);
  } else {
    parts.push('<g shape-rendering="crispEdges">');
    for (let i = 0; i < o.rows; i++) {
      for (let j = 0; j < o.cols; j++) {
        const v = o.values[i * o.cols + j];
        const tip = `${o.yLabels?.[i] ?? i} × ${o.xLabels?.[j] ?? j}: ${Number.isFinite(v) ? Number(v.toPrecision(4)) : v}`;
        parts.push(`<rect x="${r2(left + j * cell)}" y="${r2(top + i * cell)}" width="${r2(cell)}" height="${r2(cell)}" fill="${colourOf(o.scale, v, o.lo, o.hi, g)}"><title>${escapeXml(tip)}</title></rect>`);
      }
    }
    parts.push('</g>');
  }
  if (o.blocks && o.blocks < Math.max(o.rows, o.cols)) {
    parts.push('<g stroke="#ffffff" stroke-width="2" opacity="0.9">');
    for (let k = o.blocks; k < o.cols; k += o.blocks) parts.push(`<line x1="${r2(left + k * cell)}" y1="${top}" x2="${r2(left + k * cell)}" y2="${r2(top + h)}"/>`);
    for (let k = o.blocks; k < o.rows; k += o.blocks) parts.push(`<line x1="${left}" y1="${r2(top + k * cell)}" x2="${r2(left + w)}" y2="${r2(top + k * cell)}"/>`);
    parts.push('</g>');
  }
  parts.push(`<rect x="${left}" y="${top}" width="${r2(w)}" height="${r2(h)}" fill="none" stroke="#8a8f9b" stroke-width="0.5"/>`);
  // Tick labels: every stride-th row/column so they never overlap.
  const stride = labelStride(cell, 11);
  if (o.yLabels) {
    for (let i = 0; i < o.rows; i += stride) parts.push(`<text x="${left - 4}" y="${r2(top + (i + 0.5) * cell + 3.5)}" text-anchor="end" fill="${ink2}">${escapeXml(o.yLabels[i])}</text>`);
  }
  if (o.xLabels) {
    for (let j = 0; j < o.cols; j += stride) {
      const x = r2(left + (j + 0.5) * cell + 3.5);
      parts.push(`<text transform="translate(${x} ${r2(top + h + 4)}) rotate(90)" fill="${ink2}">${escapeXml(o.xLabels[j])}</text>`);
    }
  }
  parts.push(`<text x="${r2(left + w / 2)}" y="${height - 8}" text-anchor="middle" fill="${ink}">${escapeXml(o.xTitle)}</text>`);
  parts.push(`<text transform="translate(14 ${r2(top + h / 2)}) rotate(-90)" text-anchor="middle" fill="${ink}">${escapeXml(o.yTitle)}</text>`);
  // Dendrogram over the columns.
  if (o.dendrogram) {
    const { segments, maxHeight } = dendrogramSegments(o.dendrogram.n, o.dendrogram.merges, o.dendrogram.order);
    const hmax = maxHeight > 0 ? maxHeight : 1;
    const base = top - 6;
    const sy = (v: number) => r2(base - (v / hmax) * (dendroH - 14));
    const sx = (v: number) => r2(left + (v + 0.5) * cell);
    parts.push(`<g stroke="${ink2}" stroke-width="1" fill="none">`);
    for (const s of segments) parts.push(`<line x1="${sx(s.x1)}" y1="${sy(s.y1)}" x2="${sx(s.x2)}" y2="${sy(s.y2)}"/>`);
    parts.push('</g>');
    parts.push(`<line x1="${left - 6}" y1="${sy(0)}" x2="${left - 6}" y2="${sy(hmax)}" stroke="#8a8f9b"/>`);
    parts.push(`<text x="${left - 9}" y="${sy(0) + 3}" text-anchor="end" fill="${ink3}">0</text>`);
    parts.push(`<text x="${left - 9}" y="${sy(hmax) + 3}" text-anchor="end" fill="${ink3}">${Number(hmax.toPrecision(3))}</text>`);
    parts.push(`<text transform="translate(${left - 34} ${r2((sy(0) + sy(hmax)) / 2)}) rotate(-90)" text-anchor="middle" font-size="10" fill="${ink3}">${escapeXml(o.dendrogram.unit)}</text>`);
  }
  // Colour bar.
  const lx = left + w + 18;
  const lh = Math.max(80, Math.min(h, 220));
  // Same scale and gamma → same gradient, so one id per pair is safe with several SVGs on a page.
  const gid = `cbar-${o.scale}-${Math.round(g * 100)}`;
  parts.push(`<defs><linearGradient id="${gid}" x1="0" y1="1" x2="0" y2="0">`);
  for (let k = 0; k <= 10; k++) {
    const v = o.lo + ((o.hi - o.lo) * k) / 10;
    parts.push(`<stop offset="${k / 10}" stop-color="${colourOf(o.scale, v, o.lo, o.hi, g)}"/>`);
  }
  parts.push('</linearGradient></defs>');
  parts.push(`<rect x="${lx}" y="${top}" width="12" height="${lh}" fill="url(#${gid})" stroke="#8a8f9b" stroke-width="0.5"/>`);
  parts.push(`<text x="${lx + 16}" y="${top + 8}" fill="${ink2}">${fmtTick(o.hi)}</text>`);
  parts.push(`<text x="${lx + 16}" y="${top + lh}" fill="${ink2}">${fmtTick(o.lo)}</text>`);
  parts.push(`<text transform="translate(${lx + 62} ${r2(top + lh / 2)}) rotate(90)" text-anchor="middle" font-size="10" fill="${ink3}">${escapeXml(o.valueLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

export function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

/** A file-name-safe slug: "Zoo MHA 2.8M" → "zoo-mha-2-8m". */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'chart';
}

/** Distinct categorical colours (Okabe–Ito first, colour-blind safe), cycling. */
export const CATEGORICAL = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#7a5195', '#8c564b', '#7f7f7f', '#17becf', '#bcbd22'];
export function categorical(i: number): string {
  return CATEGORICAL[i % CATEGORICAL.length];
}

/** "0.05, 0.1 0.2" → [0.05, 0.1, 0.2]; null when an entry is not a number in (0, 1]. */
export function parseTaus(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return null;
  const out = parts.map(Number);
  return out.every((t) => Number.isFinite(t) && t > 0 && t <= 1) ? out : null;
}
