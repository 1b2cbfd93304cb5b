// `perplexity --model DIR (--ids-file F | --text-file F) [--window N] [--scheme stream|windows]
//  [--max-windows N] [--backend gpu|cpu] [--dtype f16|f32] [--json]`
// Mean NLL and perplexity of a token sequence with tools/train/eval_ppl.py's windowing (engine/eval).
// --ids-file: a JSON array of ids, a JSON object with `tokens` (test/fixtures/zoo-ppl/v1/tokens.json,
// whose `window` then becomes the default window) or ids separated by commas/whitespace.
// --text-file: a corpus file (.corpus/valid.txt), encoded as eval_ppl.py encodes the validation stream.
import { readFile } from 'node:fs/promises';
import { InvalidRequestError } from '../../shared/errors';
import { encodeDocumentStream, perplexity, type WindowScheme } from '../engine';
import type { CliCommand } from './command';
import { ENGINE_OPTIONS, intFlag, openFromFlags, parseFlags } from './generate';
import { progress } from './progress';

const USAGE = 'perplexity --model DIR (--ids-file F | --text-file F) [--window N] [--scheme stream|windows] [--max-windows N] [--backend gpu|cpu] [--dtype f16|f32] [--json]';

interface IdsFile {
  ids: number[];
  window?: number;
}

function checkIds(ids: unknown[], file: string): number[] {
  if (ids.length === 0 || ids.some((x) => !Number.isInteger(x) || (x as number) < 0)) {
    throw new InvalidRequestError(`${file} must hold non-negative whole token ids; found ${ids.length === 0 ? 'none' : 'something else'}`);
  }
  return ids as number[];
}

async function readIdsFile(file: string): Promise<IdsFile> {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new InvalidRequestError(`cannot read --ids-file ${file} (${e.message}); check the path`);
  });
  const t = text.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new InvalidRequestError(`${file} is not valid JSON (${(e as Error).message}); fix the file`);
    }
    if (Array.isArray(v)) return { ids: checkIds(v, file) };
    const o = v as { tokens?: unknown; ids?: unknown; window?: unknown };
    const arr = Array.isArray(o.tokens) ? o.tokens : Array.isArray(o.ids) ? o.ids : null;
    if (!arr) throw new InvalidRequestError(`${file} is a JSON object without a "tokens" or "ids" array; pass a file of token ids`);
    return { ids: checkIds(arr, file), window: Number.isInteger(o.window) ? (o.window as number) : undefined };
  }
  return { ids: checkIds(t.split(/[\s,]+/).filter((s) => s !== '').map(Number), file) };
}

function schemeFlag(v: string | undefined): WindowScheme {
  if (v !== 'stream' && v !== 'windows') throw new InvalidRequestError(`--scheme must be stream or windows, got "${v}"`);
  return v;
}

/** Tokens one window of `window` needs: 'stream' also needs the token its last position predicts. */
function needed(window: number, scheme: WindowScheme): number {
  return scheme === 'stream' ? window + 1 : window;
}

/**
 * The window to score `n` tokens with. An explicit --window is kept (or refused, naming --window, when the
 * input is shorter than one window); a default window (the ids file's, else the context) shrinks to the
 * input's length, with a note that says so.
 */
export function chooseWindow(n: number, scheme: WindowScheme, explicit: number | undefined, fromFile: number | undefined, nCtx: number, source: string): { window: number; note: string | null } {
  const fit = scheme === 'stream' ? n - 1 : n; // the largest window n tokens fill
  const count = n.toLocaleString('en-US');
  if (fit < 2) throw new InvalidRequestError(`${source} holds ${count} token${n === 1 ? '' : 's'}; perplexity needs at least ${needed(2, scheme)} (a window of 2${scheme === 'stream' ? ' and the token after it' : ''}): give a longer input`);
  if (explicit !== undefined) {
    if (n < needed(explicit, scheme)) {
      throw new InvalidRequestError(
        `${source} holds ${count} tokens, fewer than one --window of ${explicit.toLocaleString('en-US')} needs (${needed(explicit, scheme).toLocaleString('en-US')}${scheme === 'stream' ? ': the window and the token after it' : ''}); pass --window ${fit.toLocaleString('en-US')} or less, or a longer input`,
      );
    }
    return { window: explicit, note: null };
  }
  const window = fromFile ?? nCtx;
  if (n >= needed(window, scheme)) return { window, note: null };
  const what = fromFile !== undefined ? "the ids file's window" : 'the context';
  return { window: fit, note: `${source} holds ${count} tokens, fewer than one window of ${window.toLocaleString('en-US')} (${what}) needs: scoring one window of ${fit.toLocaleString('en-US')} instead (--window N sets it)` };
}

export const perplexityCommand: CliCommand = {
  summary: 'mean NLL and perplexity of a token sequence (eval_ppl.py windowing)',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags('perplexity', USAGE, argv, {
      ...ENGINE_OPTIONS,
      json: { type: 'boolean', default: false },
      'ids-file': { type: 'string' },
      'text-file': { type: 'string' },
      window: { type: 'string' },
      scheme: { type: 'string', default: 'stream' },
      'max-windows': { type: 'string' },
    });
    const idsFile = f['ids-file'];
    const textFile = f['text-file'];
    if ((typeof idsFile === 'string') === (typeof textFile === 'string')) {
      throw new InvalidRequestError(`perplexity needs exactly one of --ids-file F or --text-file F; usage: ${USAGE}`);
    }
    const scheme = schemeFlag(f.scheme as string);
    const maxWindows = intFlag('max-windows', f['max-windows'] as string | undefined, 1);
    const fromIds = typeof idsFile === 'string' ? await readIdsFile(idsFile) : null;
    const json = f.json === true;
    const engine = await openFromFlags('perplexity', f, json);
    try {
      let ids: number[];
      if (fromIds) ids = fromIds.ids;
      else {
        if (!engine.tokenizer) throw new InvalidRequestError(`--text-file needs the model's tokenizer: ${engine.tokenizerReason}; pass --ids-file instead`);
        const text = await readFile(textFile as string, 'utf8').catch((e: Error) => {
          throw new InvalidRequestError(`cannot read --text-file ${String(textFile)} (${e.message}); check the path`);
        });
        ids = encodeDocumentStream(engine.tokenizer, text, engine.info.eosTokenIds);
      }
      const explicit = intFlag('window', f.window as string | undefined, 2);
      const source = fromIds ? `--ids-file ${String(idsFile)}` : `--text-file ${String(textFile)}`;
      const { window, note } = chooseWindow(ids.length, scheme, explicit, fromIds?.window, engine.backend.nCtx, source);
      if (window > engine.backend.nCtx) throw new InvalidRequestError(`--window ${window} exceeds the context of ${engine.backend.nCtx}; pass a smaller window`);
      if (note && !json) process.stderr.write(`${note}\n`);
      const started = performance.now();
      const r = await perplexity(engine, ids, {
        window,
        scheme,
        maxWindows,
        onWindow: json ? undefined : progress((done, total) => `window ${done}/${total}`),
      });
      const seconds = (performance.now() - started) / 1000;
      if (json) {
        const out = {
          model: engine.dir,
          backend: engine.backend.kind,
          device: engine.backend.device,
          dtype: engine.backend.dtype,
          scheme: r.scheme,
          window: r.window,
          windows: r.windows,
          tokens: ids.length,
          tokens_scored: r.tokensScored,
          ...(note ? { note } : {}),
          mean_nll: r.meanNll,
          perplexity: r.perplexity,
          seconds,
          nll: r.nll.map((w) => Array.from(w, (v) => Math.round(v * 1e5) / 1e5)),
        };
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return 0;
      }
      process.stdout.write(
        `${engine.dir} (${engine.backend.kind}, ${engine.backend.dtype}): scored ${r.tokensScored.toLocaleString('en-US')} of ${ids.length.toLocaleString('en-US')} tokens in ${r.windows} window${r.windows === 1 ? '' : 's'} of ${r.window} (${r.scheme}), ` +
          `mean NLL ${r.meanNll.toFixed(4)} nats, perplexity ${r.perplexity.toFixed(2)} (${seconds.toFixed(1)} s)\n`,
      );
      return 0;
    } finally {
      engine.dispose();
    }
  },
};
