// `inspect --model DIR [--json]`: what a checkpoint is, without reading its weights — config summary,
// variant, parameters, KV cache per token, the paper's FLOP terms beside real counts, the tokenizer and
// the weight-name/shape check. Exit code 1 when the weights do not match the config.
import { variantOf, type ModelConfig } from '../../shared/arch/config';
import { parameterCount } from '../../shared/arch/spec';
import { countedFlops, kvBytes, kvParts, paperFlops } from '../../shared/formulas';
import { InvalidRequestError } from '../../shared/errors';
import { inspectCheckpoint } from '../engine/model/loader';
import { loadTokenizer } from '../engine/tokenizer';
import type { CliCommand } from './command';

const LENGTHS = [128, 512, 2048];

function parseArgs(argv: string[]): { model: string; json: boolean } {
  let model: string | null = null;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--model') model = argv[++i] ?? null;
    else if (a.startsWith('--model=')) model = a.slice('--model='.length);
    else if (a === '--backend') i++; // accepted by every command; inspect runs nothing
    else throw new InvalidRequestError(`inspect: unknown argument "${a}"; usage: inspect --model DIR [--json]`);
  }
  if (!model) throw new InvalidRequestError('inspect needs --model DIR (a checkpoint folder with config.json and model.safetensors)');
  return { model, json };
}

function hyperparameters(c: ModelConfig): Record<string, unknown> {
  const { family: _f, architecture: _a, modelType: _m, ...rest } = c;
  return rest;
}

export async function inspectReport(dir: string): Promise<Record<string, unknown>> {
  const info = await inspectCheckpoint(dir);
  const c = info.config;
  const tok = await loadTokenizer(dir, { eosTokenIds: info.eosTokenIds }).catch((e: Error) => ({ tokenizer: null, reason: e.message }));
  const kv = kvBytes(c, { bytesPerValue: 2 });
  return {
    dir,
    architecture: c.architecture,
    family: c.family,
    variant: variantOf(c),
    config: hyperparameters(c),
    parameters: parameterCount(c),
    weightFiles: info.files.map((f) => ({ path: f.path, bytes: f.bytes })),
    weightBytes: info.weightBytes,
    tensors: info.tensors.size,
    kvCache: {
      valuesPerTokenLayer: kvParts(c).reduce((a, p) => a + p.values, 0),
      parts: kvParts(c),
      bytesPerValue: kv.bytesPerValue,
      bytesPerTokenLayer: kv.perTokenLayer,
      bytesPerToken: kv.perToken,
      contextTokens: kv.tokens,
      bytesForContext: kv.total,
    },
    flopsPerLayer: LENGTHS.map((N) => ({
      N,
      paperTable4: paperFlops(c, N),
      counted: countedFlops(c, N, { causal: true }),
      countedFullMaps: countedFlops(c, N, { causal: false }),
    })),
    eosTokenIds: info.eosTokenIds,
    tokenizer: tok.tokenizer
      ? { ok: true, vocab: tok.tokenizer.vocabSize, stopTokenIds: tok.tokenizer.stopTokenIds, chatTemplate: tok.tokenizer.hasChatTemplate }
      : { ok: false, reason: tok.reason },
    spec: { ok: info.spec.ok, errors: info.spec.errors, warnings: info.spec.warnings },
  };
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const g = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : String(x));

function text(r: Record<string, unknown>): string {
  const kv = r.kvCache as Record<string, unknown> & { parts: { part: string; values: number }[] };
  const cfg = r.config as Record<string, unknown>;
  const flops = r.flopsPerLayer as { N: number; paperTable4: { attention: number; linear: number }; counted: { attention: number; projections: number; mlp: number }; countedFullMaps: { attention: number } }[];
  const tok = r.tokenizer as { ok: boolean; vocab?: number; stopTokenIds?: number[]; chatTemplate?: boolean; reason?: string };
  const spec = r.spec as { ok: boolean; errors: string[]; warnings: string[] };
  const lines = [
    `${r.dir}`,
    `  architecture   ${r.architecture} (${r.family}, ${r.variant})`,
    `  config         ${Object.entries(cfg).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`,
    `  parameters     ${(r.parameters as number).toLocaleString('en-US')} (${((r.parameters as number) / 1e9).toFixed(3)} B)`,
    `  weights        ${(r.weightFiles as unknown[]).length} file(s), ${mib(r.weightBytes as number)}, ${r.tensors} tensors`,
    `  KV cache       ${kv.valuesPerTokenLayer} values/token/layer (${kv.parts.map((p) => `${p.part} ${p.values}`).join(' + ')}); ` +
      `${kv.bytesPerTokenLayer} B/token/layer, ${kv.bytesPerToken} B/token in 16-bit; ${mib(kv.bytesForContext as number)} for ${kv.contextTokens} tokens`,
    '  FLOPs per layer (paper Table 4 = complexity terms, no ×2, full N² maps; counted = 2·multiply-adds, causal half only / full maps):',
    ...flops.map(
      (f) =>
        `    N=${String(f.N).padEnd(5)} table4 attn ${g(f.paperTable4.attention)}, linear ${g(f.paperTable4.linear)} | counted attn ${g(f.counted.attention)} ` +
        `(full ${g(f.countedFullMaps.attention)}), projections ${g(f.counted.projections)}, mlp ${g(f.counted.mlp)}`,
    ),
    `  eos ids        ${(r.eosTokenIds as number[]).join(', ') || '(none)'}`,
    tok.ok
      ? `  tokenizer      ok, ${tok.vocab} tokens, stop ids ${tok.stopTokenIds?.join(', ')}, chat template ${tok.chatTemplate ? 'yes' : 'no'}`
      : `  tokenizer      none: ${tok.reason}`,
    spec.ok ? '  weights check  ok: every tensor present with the shape the config implies' : `  weights check  FAILED (${spec.errors.length}):`,
    ...spec.errors.slice(0, 10).map((e) => `    ${e}`),
    ...(spec.errors.length > 10 ? [`    … and ${spec.errors.length - 10} more`] : []),
    ...spec.warnings.slice(0, 10).map((w) => `  warning        ${w}`),
  ];
  return lines.join('\n');
}

export const inspectCommand: CliCommand = {
  summary: 'describe a checkpoint: config, variant, parameters, KV cache, FLOPs, tokenizer, weight check',
  async run(argv) {
    const { model, json } = parseArgs(argv);
    const report = await inspectReport(model);
    console.log(json ? JSON.stringify(report, null, 2) : text(report));
    return (report.spec as { ok: boolean }).ok ? 0 : 1;
  },
};
