// Perplexity of a checkpoint over a token sequence, windowed the way tools/train/eval_ppl.py windows
// it, so the engine's number and PyTorch's can be compared position by position.
//
// Two schemes, both with non-overlapping windows that start every `window` tokens and each run from an
// empty cache (no state carried between windows):
//   'stream'  — eval_ppl.py's validation loss: window w feeds tokens [w·N, w·N + N) and scores the N
//               next tokens [w·N + 1, w·N + N], so every token after the first is predicted exactly once
//               (the window's last logit predicts the first token of the next window); a tail too short
//               for a full window is dropped.
//   'windows' — eval_ppl.py's fixtures (test/fixtures/zoo-ppl): window w feeds tokens [w·N, w·N + N) and
//               scores only the N − 1 predictions inside it; a tail shorter than N is dropped.
import { CancelledError, InvalidRequestError } from '../../../shared/errors';

export type WindowScheme = 'stream' | 'windows';

export interface PerplexityOptions {
  /** Tokens per window; default the model's context. */
  window?: number;
  scheme?: WindowScheme; // default 'stream'
  /** Score only the first N windows (a quick check). */
  maxWindows?: number;
  /** Called after each window with how many are done. */
  onWindow?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PerplexityResult {
  scheme: WindowScheme;
  window: number;
  windows: number;
  /** Predictions scored: windows × window ('stream') or windows × (window − 1) ('windows'). */
  tokensScored: number;
  /** Mean negative log-likelihood in nats. */
  meanNll: number;
  perplexity: number;
  /** NLL (nats) of each scored prediction, window by window: [windows][per window]. */
  nll: Float64Array[];
}

/** What the evaluation needs of an engine: logits of every position of `ids` from an empty cache. */
export interface LogitsSource {
  logits(ids: number[]): Promise<Float32Array[]>;
}

/** −log softmax(row)[target], in float64 (a max-shifted log-sum-exp). */
export function tokenNll(row: Float32Array, target: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= row.length) {
    throw new InvalidRequestError(`token id ${target} is outside the vocabulary (0…${row.length - 1}); the ids do not belong to this model's tokenizer`);
  }
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum) - row[target];
}

/** Start offsets of the windows each scheme runs over `n` tokens. */
export function windowStarts(n: number, window: number, scheme: WindowScheme): number[] {
  // 'stream' needs window + 1 tokens per window (inputs plus the last target); 'windows' needs window.
  const count = scheme === 'stream' ? Math.floor((n - 1) / window) : Math.floor(n / window);
  return Array.from({ length: Math.max(count, 0) }, (_, w) => w * window);
}

export async function perplexity(src: LogitsSource, ids: readonly number[], opts: PerplexityOptions & { window: number }): Promise<PerplexityResult> {
  const scheme = opts.scheme ?? 'stream';
  if (scheme !== 'stream' && scheme !== 'windows') throw new InvalidRequestError(`scheme must be stream or windows, got ${String(scheme)}`);
  const window = opts.window;
  if (!Number.isInteger(window) || window < 2) throw new InvalidRequestError(`window must be a whole number ≥ 2, got ${window}`);
  let starts = windowStarts(ids.length, window, scheme);
  if (opts.maxWindows !== undefined) starts = starts.slice(0, opts.maxWindows);
  if (starts.length === 0) {
    const need = scheme === 'stream' ? window + 1 : window;
    throw new InvalidRequestError(`${ids.length.toLocaleString('en-US')} tokens are fewer than one window needs (${need.toLocaleString('en-US')}); pass more tokens or a smaller window`);
  }
  const nll: Float64Array[] = [];
  let total = 0;
  let count = 0;
  for (const s of starts) {
    if (opts.signal?.aborted) throw new CancelledError('The perplexity run was cancelled');
    const input = ids.slice(s, s + window); // [window] token ids
    const rows = await src.logits(input); // [window][vocab] f32
    const scored = scheme === 'stream' ? window : window - 1;
    const out = new Float64Array(scored); // [scored] nats
    for (let i = 0; i < scored; i++) out[i] = tokenNll(rows[i], ids[s + i + 1]);
    for (const v of out) total += v;
    count += scored;
    nll.push(out);
    opts.onWindow?.(nll.length, starts.length);
  }
  const meanNll = total / count;
  return { scheme, window, windows: starts.length, tokensScored: count, meanNll, perplexity: Math.exp(meanNll), nll };
}
