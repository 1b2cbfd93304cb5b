// Checkpoint folders: inspect (config, spec check, tokenizer files, sizes; no weights read) and load
// (every tensor the spec names, one positioned read at a time, with progress and cancel).
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeConfig, type ModelConfig } from '../../../shared/arch/config';
import { checkSpec, weightSpec, type SpecCheck } from '../../../shared/arch/spec';
import { CancelledError, CheckpointError } from '../../../shared/errors';
import { countNonFinite } from './dtype';
import { isLoadableDtype, openSafetensors, TensorReader, unsupportedDtypeMessage, type SafetensorsFile, type TensorInfo } from './safetensors';

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
  /** Throw on the first tensor holding NaN or Inf instead of reporting it. */
  strict?: boolean;
}

export interface LoadedWeights<T> {
  info: CheckpointInfo;
  tensors: Map<string, T>;
  /** Tensors with NaN/Inf and how many elements each. */
  nonFinite: { name: string; count: number }[];
  warnings: string[];
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
  const reader = new TensorReader();
  const tensors = new Map<string, T>();
  const nonFinite: { name: string; count: number }[] = [];
  let done = 0;
  try {
    for (const s of wanted) {
      if (opts.signal?.aborted) throw new CancelledError('Loading the checkpoint was cancelled');
      const t = info.tensors.get(s.name)!;
      const data = (opts.dtype === 'f32' ? await reader.f32(t) : await reader.f16(t)) as T;
      const bad = countNonFinite(data);
      if (bad > 0) {
        if (opts.strict) {
          throw new CheckpointError(`${s.name} holds ${bad} NaN/Inf value${bad > 1 ? 's' : ''}${opts.dtype === 'f16' ? ' (after conversion to f16)' : ''}; the checkpoint is corrupt or diverged`, { tensor: s.name });
        }
        nonFinite.push({ name: s.name, count: bad });
      }
      tensors.set(s.name, data);
      done += t.byteLength;
      opts.onProgress?.({ done, total, tensor: s.name });
    }
  } finally {
    await reader.close();
  }
  const warnings = [
    ...info.spec.warnings,
    ...nonFinite.map((n) => `${n.name} holds ${n.count} NaN/Inf value${n.count > 1 ? 's' : ''}`),
  ];
  return { info, tensors, nonFinite, warnings };
}
