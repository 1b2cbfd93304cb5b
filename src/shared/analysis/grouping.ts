// The GTA grouping suggestion: how many shared attention maps would do, given the measured pairwise JS
// divergences of a layer's (or the model's) maps, and what a GTA-style layer with that many maps would
// cache and compute.
//
// suggestGroups — a map j is "covered" by a candidate medoid c when js[c·n + j] ≤ τ (always by itself).
//  free:       the fewest medoids covering every map (minimum set cover): exact for n ≤ 20 (iterative
//              deepening over medoid sets, branching on the lowest uncovered map), greedy above (largest
//              uncovered coverage first, ties to the lowest index). Each map joins its nearest chosen
//              medoid (ties: lowest index); each group's medoid is then re-chosen as the member with the
//              smallest max (tie: sum, then index) JS to the members — never worse than the cover centre,
//              so still within τ.
//  contiguous: GTA's own layout: g equal contiguous groups (group k = maps [k·n/g, (k+1)·n/g)), g | n;
//              the smallest g whose every group has a member within τ of all its members (g = n always fits).
//
// gtaCost — THE MODELLING CHOICE (shown by the UI). A hypothetical GTA layer with g shared maps keeps the
// model's widths and is built as follows (d_h = key width, d_l = value-latent width):
//  - query groups n_q = g (one map per group);
//  - keys: as the model has them, but never more key heads than groups: n_k = min(model's key heads, g),
//    d_h = the model's key width. Llama/Qwen: n_kv heads of head_dim. GTA: num_key_heads of key_dim.
//    MLA: one key head (n_k = 1) of width qk_nope + qk_rope, cached explicitly;
//  - values: GTA's latent, n_c groups of d_l, n_c = min(model's value groups, g): Llama/Qwen n_c = n_k,
//    d_l = head_dim; GTA keeps num_value_heads (capped at g) and value_dim; MLA keeps its latent as the
//    value latent, n_c = 1, d_l = kv_lora_rank (d_c).
//  - cache values per token and layer = n_k·d_h + n_c·d_l (gta.md Table 4's GTA row);
//  - attention per token = the Table-4 term n_q·(d_h + d_l)·N² divided by N (N = tokens), i.e.
//    g·(d_h + d_l)·N, summed over layers.
// With g = the model's own map count this reproduces the model as it is for Llama/Qwen (2·n_kv·d_h and
// 2·n_h·d_h·N) and GTA; for MLA it caches more than MLA (the key is explicit rather than up-projected
// from the latent): d_nope + d_rope + d_c against d_c + d_rope.
// asIsCost gives the same three quantities for the model as it is, from formulas.ts.
import type { ModelConfig } from '../arch/config';
import { kvValuesPerTokenLayer, paperFlops } from '../formulas';
import type { GroupingCost, GroupingSuggestion } from './types';

/** Above this many maps the free grouping is greedy rather than exact. */
export const EXACT_COVER_MAX = 20;

type Grouping = { groups: number[][]; medoids: number[]; maxJs: number };

/** JS from medoid c to map j; a map is at 0 from itself whatever the diagonal holds. */
function jsAt(js: ArrayLike<number>, n: number, c: number, j: number): number {
  return c === j ? 0 : js[c * n + j];
}

/** The member with the smallest max (tie: sum, then index) JS to the members, and that max. */
function medoidOf(js: ArrayLike<number>, n: number, members: number[]): { medoid: number; max: number } {
  let best = members[0];
  let bestMax = Infinity;
  let bestSum = Infinity;
  for (const c of members) {
    let mx = 0;
    let sum = 0;
    for (const j of members) {
      const v = jsAt(js, n, c, j);
      if (v > mx) mx = v;
      sum += v;
    }
    if (mx < bestMax || (mx === bestMax && (sum < bestSum || (sum === bestSum && c < best)))) {
      best = c;
      bestMax = mx;
      bestSum = sum;
    }
  }
  return { medoid: best, max: bestMax };
}

/** Exact minimum cover of n ≤ 30 maps (cover[c] = bit mask of the maps c covers): the chosen medoids, ascending. */
function exactCover(cover: number[], n: number): number[] {
  const all = (1 << n) - 1;
  const popcount = (x: number): number => {
    let c = 0;
    for (let v = x >>> 0; v !== 0; v &= v - 1) c++;
    return c;
  };
  const maxCover = Math.max(...cover.map(popcount));
  // coveredBy[e]: candidates covering map e, ascending.
  const coveredBy: number[][] = Array.from({ length: n }, () => []);
  for (let c = 0; c < n; c++) for (let e = 0; e < n; e++) if (cover[c] & (1 << e)) coveredBy[e].push(c);
  const chosen: number[] = [];
  const search = (covered: number, depth: number): boolean => {
    if (covered === all) return true;
    if (depth === 0) return false;
    const left = popcount(~covered & all);
    if (left > depth * maxCover) return false; // cannot finish with `depth` more sets
    let e = 0;
    while (covered & (1 << e)) e++; // lowest uncovered map: some chosen set must cover it
    for (const c of coveredBy[e]) {
      chosen.push(c);
      if (search(covered | cover[c], depth - 1)) return true;
      chosen.pop();
    }
    return false;
  };
  for (let k = 1; k <= n; k++) {
    if (search(0, k)) return [...chosen].sort((a, b) => a - b);
  }
  return Array.from({ length: n }, (_, i) => i); // unreachable: every map covers itself
}

/** Greedy cover: repeatedly the candidate covering the most uncovered maps (ties: lowest index). O(n²). */
function greedyCover(js: ArrayLike<number>, n: number, tau: number): number[] {
  const coveredBy: number[][] = Array.from({ length: n }, () => []); // coveredBy[e]: the candidates covering map e
  const gain = new Int32Array(n); // gain[c]: uncovered maps c would cover
  for (let c = 0; c < n; c++) {
    for (let e = 0; e < n; e++) {
      if (jsAt(js, n, c, e) <= tau) {
        coveredBy[e].push(c);
        gain[c]++;
      }
    }
  }
  const covered = new Uint8Array(n);
  let left = n;
  const chosen: number[] = [];
  while (left > 0) {
    let best = 0;
    for (let c = 1; c < n; c++) if (gain[c] > gain[best]) best = c;
    chosen.push(best);
    for (let e = 0; e < n; e++) {
      if (covered[e] || jsAt(js, n, best, e) > tau) continue;
      covered[e] = 1;
      left--;
      for (const c of coveredBy[e]) gain[c]--;
    }
  }
  return chosen.sort((a, b) => a - b);
}

function freeGrouping(js: ArrayLike<number>, n: number, tau: number): Grouping {
  let centres: number[];
  if (n <= EXACT_COVER_MAX) {
    const cover: number[] = [];
    for (let c = 0; c < n; c++) {
      let mask = 0;
      for (let e = 0; e < n; e++) if (jsAt(js, n, c, e) <= tau) mask |= 1 << e;
      cover.push(mask);
    }
    centres = exactCover(cover, n);
  } else {
    centres = greedyCover(js, n, tau);
  }
  // Each map joins its nearest centre (ties: lowest centre index; centres are ascending).
  const members: number[][] = centres.map(() => []);
  for (let j = 0; j < n; j++) {
    let best = 0;
    for (let k = 1; k < centres.length; k++) if (jsAt(js, n, centres[k], j) < jsAt(js, n, centres[best], j)) best = k;
    members[best].push(j);
  }
  const groups = members.filter((g) => g.length > 0).sort((a, b) => a[0] - b[0]);
  return finish(js, n, groups);
}

function finish(js: ArrayLike<number>, n: number, groups: number[][]): Grouping {
  const medoids: number[] = [];
  let maxJs = 0;
  for (const g of groups) {
    const { medoid, max } = medoidOf(js, n, g);
    medoids.push(medoid);
    if (max > maxJs) maxJs = max;
  }
  return { groups, medoids, maxJs };
}

function contiguousGrouping(js: ArrayLike<number>, n: number, tau: number): Grouping {
  for (let g = 1; g <= n; g++) {
    if (n % g !== 0) continue;
    const size = n / g;
    const groups: number[][] = [];
    let fits = true;
    for (let k = 0; k < g && fits; k++) {
      const members = Array.from({ length: size }, (_, i) => k * size + i);
      if (medoidOf(js, n, members).max > tau) fits = false;
      groups.push(members);
    }
    if (fits) return finish(js, n, groups);
  }
  return finish(js, n, Array.from({ length: n }, (_, i) => [i])); // unreachable: g = n fits
}

/** Free and contiguous grouping suggestions for n maps with pairwise JS (n×n row-major) at threshold τ. */
export function suggestGroups(js: ArrayLike<number>, n: number, tau: number): GroupingSuggestion {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n (${n}) must be an integer ≥ 1`);
  if (js.length !== n * n) throw new RangeError(`js has ${js.length} values; expected n·n = ${n * n}`);
  if (!Number.isFinite(tau) || tau < 0) throw new RangeError(`tau (${tau}) must be a finite number ≥ 0`);
  for (let i = 0; i < n * n; i++) if (Number.isNaN(js[i])) throw new RangeError(`js[${i}] is NaN`);
  return { tau, free: freeGrouping(js, n, tau), contiguous: contiguousGrouping(js, n, tau) };
}

/** Distinct maps per layer of the model as it is: query heads (MHA/GQA/MLA) or query groups (GTA). */
export function mapsPerLayer(c: ModelConfig): number {
  return c.family === 'gta' ? c.numQueryHeads : c.numHeads;
}

/** The hypothetical GTA layer's widths for g maps (see the header). */
export function gtaLayerDims(c: ModelConfig, g: number): { nq: number; nk: number; dh: number; nc: number; dl: number } {
  if (c.family === 'llama') {
    const nk = Math.min(c.numKvHeads, g);
    return { nq: g, nk, dh: c.headDim, nc: nk, dl: c.headDim };
  }
  if (c.family === 'mla') return { nq: g, nk: 1, dh: c.qkNopeHeadDim + c.qkRopeHeadDim, nc: 1, dl: c.kvLoraRank };
  return { nq: g, nk: Math.min(c.numKeyHeads, g), dh: c.keyDim, nc: Math.min(c.numValueHeads, g), dl: c.valueDim };
}

function checkTokens(tokens: number): void {
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`tokens (${tokens}) must be an integer ≥ 1`);
}

/** What a GTA-style model with groupsPerLayer[L] shared maps in layer L would cache and compute at `tokens` tokens. */
export function gtaCost(c: ModelConfig, groupsPerLayer: number[], tokens: number): GroupingCost {
  checkTokens(tokens);
  if (groupsPerLayer.length !== c.numLayers) throw new RangeError(`groupsPerLayer has ${groupsPerLayer.length} entries; expected one per layer (${c.numLayers})`);
  const maxMaps = mapsPerLayer(c);
  let groups = 0;
  let kv = 0;
  let attention = 0;
  for (let l = 0; l < groupsPerLayer.length; l++) {
    const g = groupsPerLayer[l];
    if (!Number.isInteger(g) || g < 1 || g > maxMaps) throw new RangeError(`groupsPerLayer[${l}] (${g}) must be an integer in [1, ${maxMaps}]`);
    const { nq, nk, dh, nc, dl } = gtaLayerDims(c, g);
    groups += g;
    kv += nk * dh + nc * dl;
    attention += nq * (dh + dl) * tokens; // n_q·(d_h + d_l)·N² / N
  }
  return { groups, kvValuesPerTokenLayer: kv / c.numLayers, attentionFlopsPerToken: attention };
}

/** The same quantities for the model as it is: its maps, its cache (formulas.ts) and its Table-4 attention term per token. */
export function asIsCost(c: ModelConfig, tokens: number): GroupingCost {
  checkTokens(tokens);
  return {
    groups: mapsPerLayer(c) * c.numLayers,
    kvValuesPerTokenLayer: kvValuesPerTokenLayer(c),
    attentionFlopsPerToken: (paperFlops(c, tokens).attention / tokens) * c.numLayers,
  };
}
