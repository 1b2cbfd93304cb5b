// Checkpoint folders: inspect (config, spec check, tokenizer files, sizes; no weights read) and load
// (every tensor the spec names, one positioned read at a time, with progress and cancel).
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeConfig, type ModelConfig } from '../../../shared/arch/config';
import { checkConfigAgainstTensors, checkSpec, weightSpec, type SpecCheck } from '../../../shared/arch/spec';
import { CancelledError, CheckpointError } from '../../../shared/errors';
import { isLoadableDtype, nonFiniteMessage, openSafetensors, TensorReader, unsupportedDtypeMessage, type SafetensorsFile, type TensorInfo } from './safetensors';

export interface CheckpointInfo {
  dir: string;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  /** eos ids of config.json and generation_config.json together, deduplicated. */
  eosTokenIds: number[];
  files: SafetensorsFile[];
  weightBytes: number;
  tensors: Map<string, TensorInfo>;
  spec: SpecCheck;
  tokenizerFiles: { tokenizerJson: boolean; tokenizerConfig: boolean };
}

async function readJson(path: string, what: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${what} is not valid JSON (${(e as Error).message}); fix or replace the file`, { file: path });
  }
}

async function assertFolder(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st) throw new CheckpointError(`${dir} does not exist; choose a folder holding config.json and model.safetensors`, { dir });
  if (!st.isDirectory()) throw new CheckpointError(`${dir} is not a folder; choose the checkpoint folder, not a file inside it`, { dir });
}

function idsOf(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  return Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : [];
}

/** Read the config, the safetensors headers and the folder listing; check the spec. Reads no weights. */
export async function inspectCheckpoint(dir: string): Promise<CheckpointInfo> {
  await assertFolder(dir);
  const raw = await readJson(join(dir, 'config.json'), 'config.json');
  if (!raw) throw new CheckpointError(`${dir} has no config.json; a Hugging Face checkpoint folder needs one`, { dir });
  const config = normalizeConfig(raw);
  const gen = await readJson(join(dir, 'generation_config.json'), 'generation_config.json');
  const eosTokenIds = [...new Set([...config.eosTokenIds, ...idsOf(gen?.eos_token_id)])];
  const { files, tensors } = await openSafetensors(dir);
  // before weightSpec, whose length follows num_hidden_layers: the config's sizes against the file's
  const mismatch = checkConfigAgainstTensors(config, tensors);
  if (mismatch) {
    const { message, ...details } = mismatch;
    throw new CheckpointError(message, details);
  }
  const specs = weightSpec(config);
  const spec = checkSpec(specs, tensors);
  // a weight the model needs in an element type the engine cannot read fails the check like a bad shape
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (t && !isLoadableDtype(t.dtype) && (s.required || s.counted)) spec.errors.push(unsupportedDtypeMessage(s.name, t.dtype));
  }
  spec.ok = spec.errors.length === 0;
  const names = new Set(await readdir(dir));
  return {
    dir,
    config,
    rawConfig: raw,
    eosTokenIds,
    files,
    weightBytes: files.reduce((a, f) => a + f.bytes, 0),
    tensors,
    spec,
    tokenizerFiles: { tokenizerJson: names.has('tokenizer.json'), tokenizerConfig: names.has('tokenizer_config.json') },
  };
}

/** Throw the spec check's first problem (and how many more) as a CheckpointError. */
export function assertSpec(check: SpecCheck): void {
  if (check.ok) return;
  const more = check.errors.length > 1 ? ` (and ${check.errors.length - 1} more problem${check.errors.length > 2 ? 's' : ''})` : '';
  throw new CheckpointError(`${check.errors[0]}${more}; the weights do not match config.json`, {
    missing: check.missing,
    mismatched: check.mismatched,
  });
}

export type WeightDtype = 'f32' | 'f16';

export interface LoadOptions<D extends WeightDtype> {
  dtype: D;
  onProgress?: (p: { done: number; total: number; tensor: string }) => void; // bytes of the files
  signal?: AbortSignal;
  /**
   * Tensors holding NaN or Inf: 'refuse' (the default) reads every tensor, then throws one
   * CheckpointError with the count and the first names (nonFiniteError); 'report' loads them and lists
   * them in `nonFinite` and `warnings`, for tools that look at a broken checkpoint on purpose.
   */
  nonFinite?: 'refuse' | 'report';
  /** Throw on the first tensor holding NaN or Inf, without reading the rest. */
  strict?: boolean;
}

export interface LoadedWeights<T> {
  info: CheckpointInfo;
  tensors: Map<string, T>;
  /** Tensors with NaN/Inf and how many elements each (only with nonFinite: 'report'). */
  nonFinite: { name: string; count: number }[];
  warnings: string[];
}

/** Tensor names a NaN/Inf report lists before summing up the rest. */
const NON_FINITE_NAMES = 3;

/**
 * The refusal of a checkpoint whose weights hold NaN/Inf: the first tensor's count, the totals and the
 * first names. Checkpoints with NaN weights are refused for loading (not loaded with a warning): one NaN
 * in a norm weight makes every logit NaN, so no reply, perplexity or analysis of such a model means
 * anything. details: nonFinite (the first tensors), nonFiniteTensors, nonFiniteValues.
 */
export function nonFiniteError(list: { name: string; count: number }[]): CheckpointError {
  const values = list.reduce((a, n) => a + n.count, 0);
  const names = list.slice(0, NON_FINITE_NAMES).map((n) => n.name);
  const more = list.length > NON_FINITE_NAMES ? ` and ${list.length - NON_FINITE_NAMES} more` : '';
  const which = list.length > 1 ? `: ${names.join(', ')}${more}` : '';
  const totals = `${list.length} tensor${list.length > 1 ? 's' : ''}, ${values} value${values > 1 ? 's' : ''} in all${which}`;
  return new CheckpointError(
    `${nonFiniteMessage(list[0].name, list[0].count)} (${totals}); the checkpoint is corrupt or its training diverged, so every output would be NaN. Use another checkpoint (an earlier one, or a fresh export)`,
    { nonFinite: list.slice(0, 20), nonFiniteTensors: list.length, nonFiniteValues: values },
  );
}

/** Load every tensor the spec names. f32 for the CPU reference, f16 bits for GPU upload. */
export async function loadWeights<D extends WeightDtype>(
  dir: string,
  opts: LoadOptions<D>,
): Promise<LoadedWeights<D extends 'f32' ? Float32Array : Uint16Array>> {
  type T = D extends 'f32' ? Float32Array : Uint16Array;
  const info = await inspectCheckpoint(dir);
  assertSpec(info.spec);
  // a tied lm_head that an export saved anyway is the embedding again: checked, never loaded
  const wanted = weightSpec(info.config).filter((s) => info.tensors.has(s.name) && (s.required || s.counted));
  const total = wanted.reduce((a, s) => a + info.tensors.get(s.name)!.byteLength, 0);
  const reader = new TensorReader({ nonFinite: opts.strict ? 'refuse' : 'count' });
  const tensors = new Map<string, T>();
  let done = 0;
  try {
    for (const s of wanted) {
      if (opts.signal?.aborted) throw new CancelledError('Loading the checkpoint was cancelled');
      const t = info.tensors.get(s.name)!;
      const data = (opts.dtype === 'f32' ? await reader.f32(t) : await reader.f16(t)) as T;
      tensors.set(s.name, data);
      done += t.byteLength;
      opts.onProgress?.({ done, total, tensor: s.name });
    }
  } finally {
    await reader.close();
  }
  const nonFinite = [...reader.nonFinite];
  if (nonFinite.length > 0 && (opts.nonFinite ?? 'refuse') === 'refuse') throw nonFiniteError(nonFinite);
  const warnings = [...info.spec.warnings, ...nonFinite.map((n) => nonFiniteMessage(n.name, n.count))];
  return { info, tensors, nonFinite, warnings };
}

/**
 * Every loaded tensor's NaN/Inf count, read as f32 one tensor at a time (nothing kept): what the model
 * check runs on request, and what a load refused at its first poisoned tensor runs for the full report.
 */
export async function scanNonFinite(dir: string, opts: { signal?: AbortSignal } = {}): Promise<{ name: string; count: number }[]> {
  const info = await inspectCheckpoint(dir);
  assertSpec(info.spec);
  const reader = new TensorReader({ nonFinite: 'count' });
  try {
    for (const s of weightSpec(info.config)) {
      const t = info.tensors.get(s.name);
      if (!t || !(s.required || s.counted)) continue;
      if (opts.signal?.aborted) throw new CancelledError('Checking the weights was cancelled');
      await reader.f32(t);
    }
  } finally {
    await reader.close();
  }
  return [...reader.nonFinite];
}
