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

/** SplitMix32-style stream: one uniform in [0, 1) per sampled token, the same for a given seed on every backend. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 2 ** 32;
  }
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Pick a token from `logits` with uniform draw `u`: repetition penalty over `seen`, temperature, top-k,
 * top-p (the smallest set of most likely tokens whose mass reaches p), then inverse-CDF on `u`.
 * Ties keep the lower id first, as the GPU kernel does.
 */
export function sampleCpu(logits: ArrayLike<number>, s: SamplingParams, u: number, seen: Iterable<number> = []): number {
  const x = Float64Array.from(logits as ArrayLike<number>);
  if (s.repetitionPenalty !== 1) {
    for (const id of new Set(seen)) x[id] = x[id] > 0 ? x[id] / s.repetitionPenalty : x[id] * s.repetitionPenalty;
  }
  if (s.greedy) return argmax(x);
  const order = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b);
  const k = s.topK > 0 ? Math.min(s.topK, order.length) : order.length;
  const max = x[order[0]];
  const w = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    w[i] = Math.exp((x[order[i]] - max) / s.temperature);
    total += w[i];
  }
  let keep = k;
  if (s.topP < 1) {
    let mass = 0;
    for (let i = 0; i < k; i++) {
      mass += w[i] / total;
      if (mass >= s.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += w[i];
  let acc = 0;
  const target = u * kept;
  for (let i = 0; i < keep; i++) {
    acc += w[i];
    if (target < acc) return order[i];
  }
  return order[keep - 1];
}
