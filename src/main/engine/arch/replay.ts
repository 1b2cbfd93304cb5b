// Replay of decode steps: a step is recorded by the op descriptors (full JavaScript) only for
// the first three tokens of a decode chain and the first two of each later bucket of REPLAY_BUCKET
// positions; the other steps re-issue the captured pipelines and bind groups, with the uniform words
// extrapolated from the recorded steps.
//
// Why this is exact: within a bucket a step's commands are identical and its uniform words are linear
// in the position. Every kernel choice and dispatch shape depends on the context length t only through
// ceil(t / 16) (the decode attention's tile and split plans, ops/attn_decode.ts, work in tiles of 16 and
// 32 rows), and the per-token fields (RoPE position, cache row, t) grow by a constant per token. The
// three recorded steps check both assumptions: identical commands, and equal word differences (step 2 −
// step 1 = step 1 − step 0). The sampling seed is the one other per-token value: a word that equals
// each recorded step's seed is set to the seed (only when the three seeds are distinct and not linear,
// so that no other word can pass for it); with uninformative seeds, replay needs the seed unchanged.
// Anything else (a float derived from t) fails the check and the bucket is recorded in full. A later bucket replays only after its first two recorded steps equal
// the extrapolation (commands and every word), so a plan change at a bucket edge is recorded anew.
// `verify` re-records every replayed step and throws where it differs (tests).
import { WorkbenchError } from '../../../shared/errors';
import type { CapturedBatch, GpuRuntime } from '../gpu/runtime';
import type { CounterSnapshot, OpCounters } from '../instrument/counters';

/** Positions per bucket: ceil(t / 16) is fixed within one (the finest tile of the attention plans). */
export const REPLAY_BUCKET = 16;
const RECORDED = 3;
/** Steps recorded at the start of each later bucket to confirm the plan still holds there. */
const CONFIRMED = 2;

interface Recorded {
  seed: number; // u32 the step's sampling seed
  batch: CapturedBatch;
  words: Uint32Array; // the batch's uniform ring as u32 words
  work: CounterSnapshot; // the step's op counts
}

interface Extrapolation {
  batch: CapturedBatch;
  ring: Uint8Array; // [ringBytes] the next step's uniforms, advanced in place
  words: Uint32Array; // view of `ring`
  changed: Uint32Array; // word indices that change per token
  step: Uint32Array; // their per-token increments (mod 2^32)
  seedWords: Uint32Array; // word indices holding the sampling seed
  /** The seed every recorded step had, when the seeds did not vary enough to find its words; else null. */
  fixedSeed: number | null;
  work: CounterSnapshot; // the last step's op counts (advanced in place)
  workStep: CounterSnapshot; // their per-token increments
}

export class DecodeReplay {
  private bucket = -1;
  private lastT = -1;
  private recorded: Recorded[] = [];
  private plan: Extrapolation | null = null;
  private noReplay = false;
  private confirm = 0; // steps of this bucket still to record and compare before replaying
  /** Steps replayed since creation (for tests and the bench). */
  replayed = 0;

  constructor(
    private readonly rt: GpuRuntime,
    private readonly ops: OpCounters,
    /** Tests: record every replayed step as well and throw if the replay would have differed. */
    private readonly verify = false,
  ) {}

  /** Forget everything recorded: buffers, cache length or sampling changed outside a decode chain. */
  invalidate(): void {
    this.bucket = this.lastT = -1;
    this.recorded = [];
    this.plan = null;
    this.noReplay = false;
    this.confirm = 0;
  }

  /**
   * Record (or replay) the step attending `t` cache rows into the open batch, leaving it unsubmitted.
   * `record` runs the op descriptors.
   */
  step(t: number, seed: number, record: () => void): void {
    seed >>>= 0;
    const bucket = Math.ceil(t / REPLAY_BUCKET);
    // A batch left open by someone else cannot be joined by a replay (it owns the ring from offset 0).
    if (t !== this.lastT + 1 || this.rt.batchOpen || (this.plan && this.plan.fixedSeed !== null && this.plan.fixedSeed !== seed)) {
      this.invalidate();
    } else if (bucket !== this.bucket) {
      // A new bucket may change the plan: its first steps are recorded and must match the extrapolation.
      this.recorded = [];
      this.noReplay = false;
      this.confirm = CONFIRMED;
    }
    this.bucket = bucket;
    this.lastT = t;
    const plan = this.plan;
    if (plan && this.confirm === 0 && !this.verify) {
      this.advance(plan, seed, true);
      this.rt.replay(plan.batch, plan.ring);
      this.replayed++;
      return;
    }
    const before = this.noReplay ? null : this.ops.snapshot();
    const capturing = before !== null && this.rt.beginCapture();
    record();
    const batch = capturing ? this.rt.endCapture() : null;
    if (plan) {
      this.advance(plan, seed, false);
      const mismatch = differs(plan, batch);
      if (mismatch === null) {
        if (this.confirm > 0) this.confirm--;
        else this.replayed++;
        return;
      }
      if (this.verify && this.confirm === 0) {
        throw new WorkbenchError(`decode replay at t = ${t}: ${mismatch} differs from the recorded step. This is a bug in the engine's decode replay; report it with the model config.`);
      }
      this.plan = null;
      this.confirm = 0;
    }
    if (!before) return;
    if (!batch) {
      this.noReplay = true;
      return;
    }
    this.recorded.push({ seed, batch, words: new Uint32Array(batch.ring.buffer, 0, batch.ring.byteLength / 4), work: diff(this.ops.snapshot(), before) });
    if (this.recorded.length === RECORDED) {
      this.plan = extrapolate(this.recorded);
      this.recorded = [];
      this.noReplay = this.plan === null;
    }
  }

  /** Move the plan's uniforms and op counts to the next token; `count` adds its work to the counters. */
  private advance(p: Extrapolation, seed: number, count: boolean): void {
    const w = p.words;
    for (let i = 0; i < p.changed.length; i++) w[p.changed[i]] = (w[p.changed[i]] + p.step[i]) >>> 0;
    for (let i = 0; i < p.seedWords.length; i++) w[p.seedWords[i]] = seed;
    for (const [op, c] of Object.entries(p.work.byOp)) {
      const s = p.workStep.byOp[op];
      c.flops += s.flops;
      c.bytes += s.bytes;
      if (count) this.ops.addMany(op, c.calls, c.flops, c.bytes);
    }
  }
}

/** What of a recorded batch differs from the plan's next step, or null when nothing does. */
function differs(p: Extrapolation, batch: CapturedBatch | null): string | null {
  if (!batch || !sameCommands(batch, p.batch)) return 'the command list';
  const words = new Uint32Array(batch.ring.buffer, 0, batch.ring.byteLength / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== p.words[i]) return `uniform word ${i} (${words[i]} recorded, ${p.words[i]} replayed)`;
  return null;
}

function sameCommands(a: CapturedBatch, b: CapturedBatch): boolean {
  if (a.commands.length !== b.commands.length || a.ring.byteLength !== b.ring.byteLength) return false;
  for (let i = 0; i < a.commands.length; i++) {
    const x = a.commands[i] as Record<string, unknown>;
    const y = b.commands[i] as Record<string, unknown>;
    for (const k in x) if (x[k] !== y[k]) return false;
  }
  return true;
}

function diff(a: CounterSnapshot, b: CounterSnapshot): CounterSnapshot {
  const byOp: CounterSnapshot['byOp'] = {};
  for (const [k, v] of Object.entries(a.byOp)) {
    const o = b.byOp[k] ?? { calls: 0, flops: 0, bytes: 0 };
    if (v.calls > o.calls) byOp[k] = { calls: v.calls - o.calls, flops: v.flops - o.flops, bytes: v.bytes - o.bytes };
  }
  return { byOp, total: { calls: 0, flops: 0, bytes: 0 } };
}

/** The per-token step of three consecutive recorded steps, or null when they are not linear in t. */
function extrapolate([r0, r1, r2]: Recorded[]): Extrapolation | null {
  if (!sameCommands(r0.batch, r1.batch) || !sameCommands(r1.batch, r2.batch)) return null;
  const changed: number[] = [];
  const step: number[] = [];
  const seedWords: number[] = [];
  const [s0, s1, s2] = [r0.seed, r1.seed, r2.seed];
  const seedsVary = s0 !== s1 && s1 !== s2 && s0 !== s2 && ((s1 - s0) >>> 0) !== ((s2 - s1) >>> 0);
  if (!seedsVary && (s0 !== s1 || s1 !== s2)) return null;
  for (let i = 0; i < r2.words.length; i++) {
    if (seedsVary && r0.words[i] === s0 && r1.words[i] === s1 && r2.words[i] === s2) {
      seedWords.push(i);
      continue;
    }
    const d1 = (r1.words[i] - r0.words[i]) >>> 0;
    const d2 = (r2.words[i] - r1.words[i]) >>> 0;
    if (d1 !== d2) return null;
    if (d2 !== 0) {
      changed.push(i);
      step.push(d2);
    }
  }
  const workStep: CounterSnapshot['byOp'] = {};
  for (const op of new Set([...Object.keys(r0.work.byOp), ...Object.keys(r1.work.byOp), ...Object.keys(r2.work.byOp)])) {
    const [a, b, c] = [r0.work.byOp[op], r1.work.byOp[op], r2.work.byOp[op]];
    if (!a || !b || !c || a.calls !== b.calls || b.calls !== c.calls) return null;
    if (b.flops - a.flops !== c.flops - b.flops || b.bytes - a.bytes !== c.bytes - b.bytes) return null;
    workStep[op] = { calls: 0, flops: c.flops - b.flops, bytes: c.bytes - b.bytes };
  }
  const ring = r2.batch.ring.slice();
  return {
    batch: r2.batch, ring, words: new Uint32Array(ring.buffer, 0, ring.byteLength / 4), changed: Uint32Array.from(changed), step: Uint32Array.from(step),
    seedWords: Uint32Array.from(seedWords), fixedSeed: seedsVary ? null : s2,
    work: r2.work, workStep: { byOp: workStep, total: { calls: 0, flops: 0, bytes: 0 } },
  };
}
