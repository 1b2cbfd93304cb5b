// Sampling parameters, their validation, a seeded random stream, and the CPU sampler (the reference for
// the GPU sample kernel and the sampler of the CPU backend).
import { InvalidRequestError } from '../../../shared/errors';

export interface SamplingParams {
  /** Take the most likely token; the other fields are then ignored. */
  greedy: boolean;
  temperature: number; // > 0
  topK: number; // 0 = off
  topP: number; // (0, 1]; 1 = off
  /** CTRL-style: logits of tokens already in the prompt or output are divided (if > 0) or multiplied by it. 1 = off. */
  repetitionPenalty: number;
  seed: number; // uint32
}

export const GREEDY: SamplingParams = { greedy: true, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

export function samplingParams(p: Partial<SamplingParams>): SamplingParams {
  const s: SamplingParams = { ...GREEDY, greedy: false, seed: (Math.random() * 2 ** 32) >>> 0, ...p };
  if (!(s.temperature > 0) || !Number.isFinite(s.temperature)) throw new InvalidRequestError(`temperature must be a number above 0, got ${s.temperature}; use greedy decoding for temperature 0`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new InvalidRequestError(`top-k must be a whole number ≥ 0 (0 turns it off), got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new InvalidRequestError(`top-p must be in (0, 1] (1 turns it off), got ${s.topP}`);
  if (!(s.repetitionPenalty > 0) || !Number.isFinite(s.repetitionPenalty)) throw new InvalidRequestError(`repetition penalty must be above 0 (1 turns it off), got ${s.repetitionPenalty}`);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed >= 2 ** 32) throw new InvalidRequestError(`seed must be a whole number in [0, 2^32), got ${s.seed}`);
  return s;
}

/** SplitMix32-style stream: one u32 sampling seed per token, the same for a given seed on every backend. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

// The integer hash of kernels/sample.wgsl, so both backends draw the same Gumbel noise for a seed.
function hash(v: number): number {
  let h = v >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function gumbel(i: number, seed: number): number {
  const h = hash((hash((i ^ hash(seed)) >>> 0) + seed) >>> 0);
  const u = ((h >>> 8) + 0.5) / 16777216;
  return -Math.log(-Math.log(u));
}

/**
 * The sampler of kernels/sample.wgsl on the CPU: repetition penalty over `seen`, temperature, top-k
 * (ties at the threshold kept), top-p (the smallest top set whose mass reaches p), then Gumbel-max with
 * noise hashed from (seed, id): a draw from softmax over the kept tokens with no prefix sum.
 */
export function sampleCpu(logits: ArrayLike<number>, s: SamplingParams, seed: number, seen: Iterable<number> = []): number {
  const n = logits.length;
  const invT = s.greedy ? 1 : 1 / s.temperature;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = logits[i] * invT;
  if (s.repetitionPenalty !== 1) {
    for (const id of new Set(seen)) {
      if (id < n) z[id] = (logits[id] > 0 ? logits[id] / s.repetitionPenalty : logits[id] * s.repetitionPenalty) * invT;
    }
  }
  if (s.greedy) return argmax(z);
  let lo = -Infinity; // keep z ≥ lo
  if (s.topK > 0 && s.topK < n) lo = [...z].sort((a, b) => b - a)[s.topK - 1];
  if (s.topP < 1) {
    const kept = [...z].filter((v) => v >= lo).sort((a, b) => b - a);
    const max = kept[0];
    const total = kept.reduce((a, v) => a + Math.exp(v - max), 0);
    let mass = 0;
    for (const v of kept) {
      mass += Math.exp(v - max) / total;
      if (mass >= s.topP) {
        lo = Math.max(lo, v);
        break;
      }
    }
  }
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!(z[i] >= lo)) continue;
    const v = z[i] + gumbel(i, seed);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best < 0 ? 0 : best;
}
