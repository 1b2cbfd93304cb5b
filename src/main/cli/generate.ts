// `generate --model DIR (--prompt TEXT | --ids 1,2,3) [--max-tokens N] [--greedy | --temperature T
//  --top-k K --top-p P --seed S] [--repetition-penalty R] [--ctx N] [--no-stop] [--backend gpu|cpu]
//  [--dtype f16|f32] [--json]`
// Streams the text (or ids) as tokens arrive; --json prints {"ids", "text", "stats"} at the end.
// Also home of the flag parsing every engine command shares (logits, bench).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidRequestError } from '../../shared/errors';
import { openEngine, GREEDY, samplingParams, type BackendKind, type Engine, type SamplingParams, type WeightDtype } from '../engine';
import type { CliCommand } from './command';
import { loadingProgress } from './progress';

type Options = NonNullable<ParseArgsConfig['options']>;

export const ENGINE_OPTIONS = {
  model: { type: 'string' },
  backend: { type: 'string', default: 'gpu' },
  dtype: { type: 'string', default: 'f16' },
  ctx: { type: 'string' },
} as const satisfies Options;

export type Flags = Record<string, string | boolean | undefined>;

/** Parse `argv` strictly; unknown flags and missing values become errors that name the usage. */
export function parseFlags(cmd: string, usage: string, argv: string[], options: Options): Flags {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Flags;
  } catch (e) {
    throw new InvalidRequestError(`${cmd}: ${(e as Error).message}; usage: ${usage}`);
  }
}

export function intFlag(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidRequestError(`--${name} must be a whole number ≥ ${min}, got "${v}"`);
  return n;
}

function numFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidRequestError(`--${name} must be a number, got "${v}"`);
  return n;
}

/** on | off, or undefined when not given. */
export function onOff(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v !== 'on' && v !== 'off') throw new InvalidRequestError(`--${name} takes on or off, got "${v}"`);
  return v === 'on';
}

export function idsFlag(v: string): number[] {
  const ids = v.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (ids.length === 0 || ids.some((x) => !Number.isInteger(x) || x < 0)) throw new InvalidRequestError(`--ids must be comma-separated token ids like 1,2,3, got "${v}"`);
  return ids;
}

export function backendFlag(v: string | undefined): BackendKind {
  if (v !== 'gpu' && v !== 'cpu') throw new InvalidRequestError(`--backend must be gpu or cpu, got "${v}"`);
  return v;
}

export function dtypeFlag(v: string | undefined): WeightDtype {
  if (v !== 'f16' && v !== 'f32') throw new InvalidRequestError(`--dtype must be f16 or f32, got "${v}"`);
  return v;
}

/** Open the engine the shared flags describe; progress goes to stderr unless quiet. */
export async function openFromFlags(cmd: string, f: Flags, quiet: boolean): Promise<Engine> {
  if (typeof f.model !== 'string') throw new InvalidRequestError(`${cmd} needs --model DIR (a checkpoint folder with config.json and model.safetensors)`);
  return openEngine(f.model, {
    backend: backendFlag(f.backend as string),
    dtype: dtypeFlag(f.dtype as string),
    nCtx: intFlag('ctx', f.ctx as string | undefined, 1),
    onProgress: quiet ? undefined : loadingProgress(),
  });
}

const USAGE = 'generate --model DIR (--prompt TEXT | --ids 1,2,3) [--max-tokens N] [--greedy | --temperature T --top-k K --top-p P --seed S] [--repetition-penalty R] [--ctx N] [--no-stop] [--backend gpu|cpu] [--dtype f16|f32] [--json]';

function sampling(f: Flags): SamplingParams {
  const set = ['temperature', 'top-k', 'top-p', 'seed'].filter((k) => f[k] !== undefined);
  const penalty = numFlag('repetition-penalty', f['repetition-penalty'] as string | undefined);
  if (f.greedy && set.length > 0) throw new InvalidRequestError(`--greedy excludes --${set.join(', --')}: pick one`);
  if (set.length === 0) return { ...GREEDY, repetitionPenalty: penalty ?? 1 };
  return samplingParams({
    temperature: numFlag('temperature', f.temperature as string | undefined) ?? 1,
    topK: intFlag('top-k', f['top-k'] as string | undefined) ?? 0,
    topP: numFlag('top-p', f['top-p'] as string | undefined) ?? 1,
    repetitionPenalty: penalty ?? 1,
    ...(f.seed !== undefined ? { seed: intFlag('seed', f.seed as string) } : {}),
  });
}

export const generateCommand: CliCommand = {
  summary: 'generate tokens from a prompt (text or ids), streamed, with timing stats',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags('generate', USAGE, argv, {
      ...ENGINE_OPTIONS,
      json: { type: 'boolean', default: false },
      prompt: { type: 'string' },
      ids: { type: 'string' },
      'max-tokens': { type: 'string', default: '64' },
      greedy: { type: 'boolean', default: false },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      'repetition-penalty': { type: 'string' },
      'no-stop': { type: 'boolean', default: false },
    });
    if ((f.prompt === undefined) === (f.ids === undefined)) throw new InvalidRequestError(`generate needs exactly one of --prompt TEXT or --ids 1,2,3; usage: ${USAGE}`);
    const params = sampling(f);
    const maxTokens = intFlag('max-tokens', f['max-tokens'] as string, 1)!;
    const json = f.json === true;
    const engine = await openFromFlags('generate', f, json);
    try {
      const prompt = typeof f.ids === 'string' ? idsFlag(f.ids) : engine.encode(f.prompt as string);
      const canDecode = engine.tokenizer !== null;
      let printed = '';
      const ids: number[] = [];
      const so = process.stdout;
      const result = await engine.generate(prompt, { maxTokens, sampling: params, stopTokens: f['no-stop'] ? [] : engine.stopTokens }, (t) => {
        if (json) return;
        if (!canDecode) {
          so.write(`${t.index === 0 ? '' : ','}${t.id}`);
          return;
        }
        // Decode the whole output each time: a token may complete a character the previous one began.
        const text = engine.decode(ids.concat(t.id));
        ids.push(t.id);
        if (text.startsWith(printed)) so.write(text.slice(printed.length));
        printed = text;
      });
      const text = canDecode ? engine.decode(result.ids) : null;
      const stats = { ...result.stats, backend: engine.backend.kind, dtype: engine.backend.dtype, device: engine.backend.device };
      if (json) {
        so.write(`${JSON.stringify({ ids: result.ids, text, stats })}\n`);
      } else {
        so.write('\n');
        const s = result.stats;
        process.stderr.write(
          `${s.generatedTokens} tokens (${s.stopReason}); prompt ${s.promptTokens} tokens in ${s.prefillMs.toFixed(1)} ms (${s.prefillTokPerS.toFixed(1)} tok/s); ` +
            `decode ${s.decodeTokPerS.toFixed(1)} tok/s; KV ${(s.kv.usedBytes / 1024).toFixed(1)} KiB used of ${(s.kv.reservedBytes / 1024).toFixed(1)} KiB; ${engine.backend.device}\n`,
        );
      }
      return 0;
    } finally {
      engine.dispose();
    }
  },
};
