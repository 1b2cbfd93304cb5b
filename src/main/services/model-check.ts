// validateModelFolder: everything that would stop a folder from loading, found before any weight is
// read, each as one sentence a user can act on. Problems block loading; warnings do not.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdapterInfo, ModelCheck, ModelProblem, ModelProblemKind } from '../../shared/api';
import { normalizeConfig, variantOf, type ModelConfig } from '../../shared/arch/config';
import { checkConfigAgainstTensors, checkSpec, parameterCount, weightSpec } from '../../shared/arch/spec';
import { kvLayout, kvShapeOf, loadTokenizer, nonFiniteError, openSafetensors, scanNonFinite, type SafetensorsSet } from '../engine';

/** Problems listed one by one before the rest are summed up, so a wrong config does not flood the page. */
const MAX_SHAPE_PROBLEMS = 5;
/** The context a model loads with unless the user asks for another. */
export const DEFAULT_CONTEXT_CAP = 4096;

const fmt = (n: number): string => n.toLocaleString('en-US');
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

function sentence(text: string, advice: string): string {
  // Not capitalised: engine messages often start with a file or tensor name, whose case matters.
  return `${text.trim().replace(/[.;]\s*$/, '')}. ${advice}`;
}

export function defaultContext(c: ModelConfig): number {
  return Math.min(c.maxPositions, DEFAULT_CONTEXT_CAP);
}

async function readConfig(dir: string, add: (k: ModelProblemKind, m: string) => void): Promise<ModelConfig | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    add('config', `The folder has no config.json. Choose the checkpoint folder itself (the one holding config.json and model.safetensors).`);
    return null;
  }
  try {
    return normalizeConfig(JSON.parse(text));
  } catch (err) {
    add('config', sentence((err as Error).message, 'Fix config.json or use the checkpoint as it was published.'));
    return null;
  }
}

/** The conversation a chat template is tried on at validation. */
const TRIAL_CONVERSATION = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello.' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: 'Tell me about the sea.' },
];

async function tokenizerState(dir: string, add: (k: ModelProblemKind, m: string) => void, warn: (m: string) => void) {
  const has = async (f: string) => (await stat(join(dir, f)).catch(() => null))?.isFile() ?? false;
  const [json, config] = await Promise.all([has('tokenizer.json'), has('tokenizer_config.json')]);
  if (!json) {
    if (config) add('tokenizer', 'tokenizer_config.json is present but tokenizer.json is missing, so text cannot be encoded. Copy tokenizer.json from the original checkpoint into the folder.');
    else warn('The folder has no tokenizer.json: the model loads, but prompts must be typed as token ids and replies show token ids.');
    return { hasTokenizer: false, hasChatTemplate: false };
  }
  try {
    const t = await loadTokenizer(dir);
    if (t.tokenizer && !t.tokenizer.hasChatTemplate) warn('The tokenizer has no chat template: use completion mode (plain text continuation).');
    // The template is code: render it once (on the template worker, with its time and output budget)
    // so a runaway or failing one is a problem here, not on the first message.
    if (t.tokenizer?.hasChatTemplate) {
      const trial = await t.tokenizer.encodeChat(TRIAL_CONVERSATION, { addGenerationPrompt: true, model: 'this folder' }).catch((e: Error) => e);
      if (trial instanceof Error) {
        // Where the renderer itself cannot start (a bundle with no node_modules), the folder is fine.
        if ((trial as { details?: { reason?: string } }).details?.reason === 'unavailable') warn(trial.message);
        else throw trial;
      }
    }
    return { hasTokenizer: t.tokenizer !== null, hasChatTemplate: t.tokenizer?.hasChatTemplate ?? false };
  } catch (err) {
    add('tokenizer', sentence((err as Error).message, 'Replace the tokenizer files with the checkpoint’s originals.'));
    return { hasTokenizer: false, hasChatTemplate: false };
  }
}

function adapterChecks(config: ModelConfig, set: SafetensorsSet, adapter: AdapterInfo | null, add: (k: ModelProblemKind, m: string) => void, warn: (m: string) => void) {
  // Weights are uploaded as packed f16 (two per u32), so shader-f16 is not needed; the binding limit is.
  let largest: { name: string; bytes: number } | null = null;
  for (const s of weightSpec(config)) {
    if (!set.tensors.has(s.name)) continue;
    const bytes = Math.ceil((s.shape.reduce((a, b) => a * b, 1) * 2) / 4) * 4;
    if (!largest || bytes > largest.bytes) largest = { name: s.name, bytes };
  }
  if (!adapter) {
    warn('No GPU adapter is available: the model would run on the CPU reference, which is very slow. Install a Vulkan, Metal or D3D12 driver for GPU inference.');
    return largest;
  }
  if (adapter.isSoftware) warn('The GPU adapter is a software renderer (lavapipe or SwiftShader): the model runs, but far slower than on a GPU.');
  const maxBind = adapter.limits.maxStorageBufferBindingSize;
  if (largest && largest.bytes > maxBind) {
    add('adapter', `${largest.name} needs ${mib(largest.bytes)} in one buffer but this GPU (${adapter.description || adapter.device || adapter.vendor}) binds at most ${mib(maxBind)}. Use a GPU with larger storage bindings, or a smaller model.`);
  }
  // The cache is one buffer per layer and part: [n_ctx, row] f16.
  const kvRow = Math.max(...kvLayout(kvShapeOf(config)).buffers.map((b) => b.rowElems)) * 2;
  const ctx = defaultContext(config);
  if (kvRow * ctx > maxBind) {
    const fits = Math.floor(maxBind / kvRow);
    warn(`A ${fmt(ctx)}-token KV cache needs ${mib(kvRow * ctx)} per layer buffer, more than this GPU binds (${mib(maxBind)}); load with a context of at most ${fmt(fits)} tokens.`);
  }
  return largest;
}

export interface ValidateOptions {
  /**
   * Read every weight and refuse NaN/Inf (a 'weights' problem naming the count and the first tensors).
   * Costs one read of the weight files; loading checks the same as it reads, so the check before a load
   * leaves it off.
   */
  scanWeights?: boolean;
  /** A problem already known for this folder (a load refused for NaN weights), listed as is. */
  knownProblem?: { kind: ModelProblemKind; message: string } | null;
}

export async function validateModelFolder(path: string, adapter: AdapterInfo | null, opts: ValidateOptions = {}): Promise<ModelCheck> {
  const problems: ModelProblem[] = [];
  const warnings: string[] = [];
  const add = (kind: ModelProblemKind, message: string) => void problems.push({ kind, message });
  const warn = (m: string) => void warnings.push(m);
  const out: ModelCheck = {
    path,
    ok: false,
    problems,
    warnings,
    architecture: null,
    variant: null,
    params: null,
    weightBytes: null,
    largestTensor: null,
    hasTokenizer: false,
    hasChatTemplate: false,
    maxContext: null,
    adapter: adapter ? `${adapter.vendor} / ${adapter.description || adapter.device || 'unknown device'} (${adapter.backend})` : null,
  };
  const st = await stat(path).catch(() => null);
  if (!st || !st.isDirectory()) {
    add('folder', st ? `${path} is a file, not a folder. Choose the folder that holds config.json and model.safetensors.` : `${path} does not exist. Check the path, or choose the folder that holds config.json and model.safetensors.`);
    return out;
  }
  const config = await readConfig(path, add);
  if (config) {
    out.architecture = config.architecture;
    out.variant = variantOf(config);
    out.params = parameterCount(config);
    out.maxContext = config.maxPositions;
  }
  let set: SafetensorsSet | null = null;
  try {
    set = await openSafetensors(path);
    out.weightBytes = set.files.reduce((a, f) => a + f.bytes, 0);
  } catch (err) {
    const msg = (err as Error).message;
    // No weights file at all is not a damaged one: say what is missing.
    const missing = /has no model\.safetensors|no \.safetensors|not found|ENOENT/i.test(msg);
    add('weights', sentence(msg, missing ? 'Put the checkpoint\'s model.safetensors (or its shards and model.safetensors.index.json) in this folder.' : 'Download or export the weights again; the file is damaged or incomplete.'));
  }
  const mismatch = config && set ? checkConfigAgainstTensors(config, set.tensors) : null;
  if (mismatch) add('shape', sentence(mismatch.message, 'The weights do not match config.json.'));
  else if (config && set) {
    const spec = checkSpec(weightSpec(config), set.tensors);
    for (const e of spec.errors.slice(0, MAX_SHAPE_PROBLEMS)) add('shape', sentence(e, 'The weights do not match config.json: use the config.json that was exported with these weights.'));
    if (spec.errors.length > MAX_SHAPE_PROBLEMS) add('shape', `${spec.errors.length - MAX_SHAPE_PROBLEMS} more tensors are missing or have the wrong shape. Use the config.json that was exported with these weights.`);
    if (spec.unexpected.length > 0) warn(`${spec.unexpected.length} tensor${spec.unexpected.length > 1 ? 's' : ''} in the file (e.g. ${spec.unexpected[0]}) are not used by ${config.architecture} and will be ignored.`);
    out.largestTensor = adapterChecks(config, set, adapter, add, warn);
  }
  if (opts.knownProblem) add(opts.knownProblem.kind, opts.knownProblem.message);
  else if (opts.scanWeights && config && set && problems.length === 0) {
    try {
      const bad = await scanNonFinite(path);
      if (bad.length > 0) add('weights', sentence(nonFiniteError(bad).message, 'The workbench refuses to load weights with NaN/Inf values'));
    } catch (err) {
      add('weights', sentence((err as Error).message, 'Download or export the weights again; the file is damaged or incomplete.'));
    }
  }
  Object.assign(out, await tokenizerState(path, add, warn));
  out.ok = problems.length === 0;
  return out;
}
