// `inspect --model DIR [--json]`: what a checkpoint is, without reading its weights — config summary,
// variant, parameters, KV cache per token, the paper's FLOP terms beside real counts, the tokenizer and
// the weight-name/shape check. Exit code 1 when the weights do not match the config.
import { variantOf, type ModelConfig } from '../../shared/arch/config';
import { parameterCount } from '../../shared/arch/spec';
import { countedFlops, kvBytes, kvParts, kvValuesPerTokenLayer, paperFlops, type CountedFlops, type KvPart, type PaperFlops } from '../../shared/formulas';
import { InvalidRequestError } from '../../shared/errors';
import { inspectCheckpoint, loadTokenizer } from '../engine';
import type { CliCommand } from './command';

const LENGTHS = [128, 512, 2048];
const USAGE = 'inspect --model DIR [--json]';

function parseArgs(argv: string[]): { model: string; json: boolean } {
  let model: string | null = null;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--model') model = argv[++i] ?? null;
    else if (a.startsWith('--model=')) model = a.slice('--model='.length);
    else if (a === '--backend') i++; // accepted by every command; inspect runs nothing
    else throw new InvalidRequestError(`inspect: unknown argument "${a}"; usage: ${USAGE}`);
  }
  if (!model) throw new InvalidRequestError('inspect needs --model DIR (a checkpoint folder with config.json and model.safetensors)');
  return { model, json };
}

function hyperparameters(c: ModelConfig): Record<string, unknown> {
  const { family: _f, architecture: _a, modelType: _m, ...rest } = c;
  return rest;
}

export interface InspectReport {
  dir: string;
  architecture: string;
  family: ModelConfig['family'];
  variant: ReturnType<typeof variantOf>;
  config: Record<string, unknown>;
  parameters: number;
  weightFiles: { path: string; bytes: number }[];
  weightBytes: number;
  tensors: number;
  kvCache: {
    valuesPerTokenLayer: number;
    parts: KvPart[];
    bytesPerValue: number;
    bytesPerTokenLayer: number;
    bytesPerToken: number;
    contextTokens: number;
    bytesForContext: number;
  };
  /** Per layer at a few sequence lengths: the paper's Table 4 terms and real counts. */
  flopsPerLayer: { N: number; paperTable4: PaperFlops; counted: CountedFlops; countedFullMaps: CountedFlops }[];
  eosTokenIds: number[];
  tokenizer: { ok: true; vocab: number; stopTokenIds: number[]; chatTemplate: boolean; warning?: string } | { ok: false; reason: string };
  spec: { ok: boolean; errors: string[]; warnings: string[] };
}

export async function inspectReport(dir: string): Promise<InspectReport> {
  const info = await inspectCheckpoint(dir);
  const c = info.config;
  const tok = await loadTokenizer(dir, { eosTokenIds: info.eosTokenIds }).catch((e: Error) => ({ tokenizer: null, reason: e.message }));
  const kv = kvBytes(c, { bytesPerValue: 2 });
  let tokenizer: InspectReport['tokenizer'];
  if (tok.tokenizer) {
    const t = tok.tokenizer;
    const beyond = t.vocabSize > c.vocabSize;
    tokenizer = { ok: true, vocab: t.vocabSize, stopTokenIds: t.stopTokenIds, chatTemplate: t.hasChatTemplate };
    if (beyond) tokenizer.warning = `the tokenizer knows ${t.vocabSize} tokens but the model's vocab_size is ${c.vocabSize}; text may encode to ids the model cannot embed`;
  } else tokenizer = { ok: false, reason: tok.reason ?? 'no tokenizer' };
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
      valuesPerTokenLayer: kvValuesPerTokenLayer(c),
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
    tokenizer,
    spec: { ok: info.spec.ok, errors: info.spec.errors, warnings: info.spec.warnings },
  };
}

function bytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return b >= 2 ** 10 ? `${(b / 2 ** 10).toFixed(1)} KiB` : `${b} B`;
}

function count(x: number): string {
  for (const [unit, v] of [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) if (x >= v) return `${(x / v).toFixed(2)} ${unit}`;
  return String(x);
}

function text(r: InspectReport): string {
  const kv = r.kvCache;
  const tok = r.tokenizer;
  const lines = [
    r.dir,
    `  architecture   ${r.architecture} (${r.family}, ${r.variant})`,
    `  config         ${Object.entries(r.config).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`,
    `  parameters     ${r.parameters.toLocaleString('en-US')} (${count(r.parameters)})`,
    `  weights        ${r.weightFiles.length} file(s), ${bytes(r.weightBytes)}, ${r.tensors} tensors`,
    `  KV cache       ${kv.valuesPerTokenLayer} values/token/layer (${kv.parts.map((p) => `${p.part} ${p.values}`).join(' + ')}); ` +
      `${kv.bytesPerTokenLayer} B/token/layer, ${kv.bytesPerToken} B/token in 16-bit; ${bytes(kv.bytesForContext)} for ${kv.contextTokens} tokens`,
    '  FLOPs per layer (paper Table 4 = complexity terms, no ×2, full N² maps; counted = 2·multiply-adds, causal half / full maps):',
    ...r.flopsPerLayer.map(
      (f) =>
        `    N=${String(f.N).padEnd(5)} table4 attention ${count(f.paperTable4.attention)}, linear ${count(f.paperTable4.linear)} | ` +
        `counted attention ${count(f.counted.attention)} (full ${count(f.countedFullMaps.attention)}), projections ${count(f.counted.projections)}, mlp ${count(f.counted.mlp)}`,
    ),
    `  eos ids        ${r.eosTokenIds.join(', ') || '(none)'}`,
    tok.ok
      ? `  tokenizer      ok, ${tok.vocab} tokens, stop ids ${tok.stopTokenIds.join(', ')}, chat template ${tok.chatTemplate ? 'yes' : 'no'}`
      : `  tokenizer      none: ${tok.reason}`,
    ...(tok.ok && tok.warning ? [`  warning        ${tok.warning}`] : []),
    r.spec.ok ? '  weights check  ok: every tensor present with the shape the config implies' : `  weights check  FAILED (${r.spec.errors.length}):`,
    ...r.spec.errors.slice(0, 10).map((e) => `    ${e}`),
    ...(r.spec.errors.length > 10 ? [`    … and ${r.spec.errors.length - 10} more`] : []),
    ...r.spec.warnings.slice(0, 10).map((w) => `  warning        ${w}`),
  ];
  return lines.join('\n');
}

export const inspectCommand: CliCommand = {
  summary: 'describe a checkpoint: config, variant, parameters, KV cache, FLOPs, tokenizer, weight check',
  usage: USAGE,
  async run(argv) {
    const { model, json } = parseArgs(argv);
    const report = await inspectReport(model);
    console.log(json ? JSON.stringify(report, null, 2) : text(report));
    return report.spec.ok ? 0 : 1;
  },
};
