// safetensors reader: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}} with offsets relative to the end of the header,
// then the raw bytes. Headers are validated in full before any tensor is read, and tensors are read
// one at a time with positioned reads, so a multi-GB checkpoint never sits in memory twice.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CheckpointError } from '../../../shared/errors';
import { countNonFinite, DTYPE_BYTES, decodeToF16, decodeToF32, type SafeDtype } from './dtype';

/** Element sizes of every dtype the format defines; only F32, F16 and BF16 can be loaded. */
const FORMAT_DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

export function isLoadableDtype(dtype: string): dtype is SafeDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** The message for a tensor the engine cannot load because of its element type. */
export function unsupportedDtypeMessage(name: string, dtype: string): string {
  return `${name} has dtype ${dtype}; only F32, F16 and BF16 are supported (re-export the checkpoint in bf16 or f16)`;
}

export interface TensorInfo {
  name: string;
  /** As the header names it; see isLoadableDtype. Other dtypes are listed so unused extras can pass. */
  dtype: string;
  shape: number[];
  file: string; // absolute path
  offset: number; // absolute byte offset in the file
  byteLength: number;
}

export interface SafetensorsFile {
  path: string;
  bytes: number;
}

export interface SafetensorsSet {
  files: SafetensorsFile[];
  tensors: Map<string, TensorInfo>;
}

/** Headers above this are not weight files (the format's own reference reader caps at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function fail(file: string, msg: string, details: Record<string, unknown> = {}): CheckpointError {
  return new CheckpointError(`${basename(file)}: ${msg}`, { file, ...details });
}

/** Read and validate one file's header. Throws CheckpointError naming the file (and tensor). */
export async function readSafetensorsHeader(file: string): Promise<{ tensors: TensorInfo[]; bytes: number }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw fail(file, 'cannot be read (missing or not accessible)');
  }
  if (size < 8) throw fail(file, `is truncated: ${size} bytes, not even the 8-byte header length`);
  const fh = await open(file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    // compared as a u64: Number() would round 2^64 − 1 (a length of −1) and print the rounded value
    const rawLen = lenBuf.readBigUInt64LE(0);
    if (rawLen > BigInt(size - 8)) {
      throw fail(file, `header claims ${rawLen} bytes past the end of the file (the file has ${size - 8} bytes after the length field); it is not a safetensors file or it is truncated`);
    }
    const headerLen = Number(rawLen);
    if (headerLen > MAX_HEADER_BYTES || headerLen < 2) throw fail(file, `header length ${headerLen} is not plausible for a safetensors file`);
    const hdr = Buffer.alloc(headerLen);
    await fh.read(hdr, 0, headerLen, 8);
    let json: unknown;
    try {
      json = JSON.parse(hdr.toString('utf8'));
    } catch (e) {
      throw fail(file, `header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(file, 'header is not a JSON object');
    // JSON.parse keeps the last of two equal keys without a word; the format forbids them
    const twice = duplicateTopLevelKey(hdr.toString('utf8'));
    if (twice !== null) throw fail(file, `the header names tensor ${clip(twice)} twice; ${CORRUPT}`, { tensor: twice });
    const dataStart = 8 + headerLen;
    const dataBytes = size - dataStart;
    const tensors = Object.entries(json as Record<string, unknown>)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, entry]) => parseEntry(file, name, entry, dataStart));
    checkExtents(file, tensors, dataStart, dataBytes);
    return { tensors, bytes: size };
  } finally {
    await fh.close();
  }
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number): TensorInfo {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== 'object' || e === null) throw fail(file, `tensor ${name}: header entry is not an object`, { tensor: name });
  const size = typeof e.dtype === 'string' ? FORMAT_DTYPE_BYTES[e.dtype] : undefined;
  if (size === undefined) throw fail(file, `tensor ${name} has dtype ${String(e.dtype)}, which is not a safetensors dtype; the header is corrupt`, { tensor: name });
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw fail(file, `tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`, { tensor: name });
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
    throw fail(file, `tensor ${name}: data_offsets ${JSON.stringify(off)} must be [begin, end] with 0 ≤ begin ≤ end`, { tensor: name });
  }
  const want = (shape as number[]).reduce((a, b) => a * b, 1) * size;
  const byteLength = off[1] - off[0];
  if (byteLength !== want) {
    throw fail(file, `tensor ${name}: data_offsets span ${byteLength} bytes but shape [${shape.join(', ')}] of ${e.dtype} needs ${want}`, { tensor: name });
  }
  return { name, dtype: e.dtype as string, shape: shape as number[], file, offset: dataStart + off[0], byteLength };
}

const CORRUPT = 'the file is corrupt (re-download or re-export it)';
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
/** A name from a header for a message, cut past a few hundred characters. */
const clip = (name: string): string => (name.length > 200 ? `${name.slice(0, 200)}…` : name);

/**
 * The first key the header's top-level object holds twice, or null. A single pass over the JSON text
 * (already known to parse): strings are skipped whole, and a string at depth 1 followed by ':' is a key.
 */
export function duplicateTopLevelKey(json: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < json.length && (json[k] === ' ' || json[k] === '\n' || json[k] === '\r' || json[k] === '\t')) k++;
        if (json[k] === ':') {
          const key = JSON.parse(json.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    }
  }
  return null;
}

/**
 * The tensors must tile the data region exactly, as the format's reference reader requires: from
 * byte 0, without overlaps, gaps or trailing bytes. A header length that is off by a few bytes (the
 * JSON still parses when it only loses padding) shifts every tensor and shows up here as trailing bytes.
 */
function checkExtents(file: string, tensors: TensorInfo[], dataStart: number, dataBytes: number): void {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  let prev: TensorInfo | null = null;
  for (const t of sorted) {
    const end = t.offset + t.byteLength - dataStart;
    if (end > dataBytes) {
      throw fail(file, `is truncated: tensor ${clip(t.name)} needs data bytes up to ${end} but the file holds only ${dataBytes} after the header (an incomplete download?)`, { tensor: t.name });
    }
    const expected = prev ? prev.offset + prev.byteLength : dataStart;
    if (prev && t.offset < expected) {
      throw fail(file, `tensors ${clip(prev.name)} and ${clip(t.name)} overlap in the file; the header is corrupt`, { tensor: t.name });
    }
    if (t.offset > expected) {
      const gap = t.offset - expected;
      const where = prev ? `${plural(gap, 'byte', 'bytes')} between tensors ${clip(prev.name)} and ${clip(t.name)} ${gap === 1 ? 'is' : 'are'}` : `the first ${plural(gap, 'byte', 'bytes')} of the data region, before tensor ${clip(t.name)}, ${gap === 1 ? 'is' : 'are'}`;
      throw fail(file, `${where} not part of any tensor; the data offsets are wrong, so ${CORRUPT}`, { tensor: t.name });
    }
    prev = t;
  }
  const used = prev ? prev.offset + prev.byteLength - dataStart : 0;
  if (used < dataBytes) {
    const extra = dataBytes - used;
    const after = prev ? `after the last tensor (${clip(prev.name)})` : 'after a header that lists no tensor data';
    throw fail(file, `${plural(extra, 'byte', 'bytes')} ${after} ${extra === 1 ? 'is' : 'are'} not part of any tensor; the header length or the data offsets are wrong, so ${CORRUPT}`);
  }
}

/** Every safetensors file of a checkpoint folder: model.safetensors, or the shards an index names. */
export async function openSafetensors(dir: string): Promise<SafetensorsSet> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  let shardNames: string[];
  let weightMap: Record<string, string> | null = null;
  const index = await readFile(indexPath, 'utf8').catch(() => null);
  if (index !== null) {
    let parsed: { weight_map?: unknown };
    try {
      parsed = JSON.parse(index);
    } catch (e) {
      throw new CheckpointError(`model.safetensors.index.json is not valid JSON (${(e as Error).message})`, { file: indexPath });
    }
    if (typeof parsed.weight_map !== 'object' || parsed.weight_map === null) {
      throw new CheckpointError('model.safetensors.index.json has no weight_map object', { file: indexPath });
    }
    weightMap = parsed.weight_map as Record<string, string>;
    shardNames = [...new Set(Object.values(weightMap))].sort();
  } else {
    shardNames = ['model.safetensors'];
    const exists = await stat(join(dir, 'model.safetensors')).catch(() => null);
    if (!exists) {
      const names = await readdir(dir).catch(() => [] as string[]);
      const other = names.find((n) => /\.(bin|pt|pth|gguf|ckpt)$/.test(n));
      const hint = other
        ? ` It holds ${other}: convert the weights to safetensors (for example with transformers' save_pretrained(safe_serialization=True)).`
        : '';
      throw new CheckpointError(`${dir} has no model.safetensors and no model.safetensors.index.json; the weights must be in safetensors format.${hint}`, { dir });
    }
  }
  const files: SafetensorsFile[] = [];
  const tensors = new Map<string, TensorInfo>();
  for (const shard of shardNames) {
    const path = join(dir, shard);
    const { tensors: list, bytes } = await readSafetensorsHeader(path);
    files.push({ path, bytes });
    for (const t of list) {
      const other = tensors.get(t.name);
      if (other) throw new CheckpointError(`tensor ${t.name} appears in both ${basename(other.file)} and ${shard}`, { tensor: t.name });
      tensors.set(t.name, t);
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      const t = tensors.get(name);
      if (!t) throw new CheckpointError(`model.safetensors.index.json places ${name} in ${shard}, but that file has no such tensor`, { tensor: name });
      if (basename(t.file) !== shard) throw new CheckpointError(`model.safetensors.index.json places ${name} in ${shard}, but it is in ${basename(t.file)}`, { tensor: name });
    }
  }
  return { files, tensors };
}

function loadable(t: TensorInfo): SafeDtype {
  if (!isLoadableDtype(t.dtype)) throw fail(t.file, unsupportedDtypeMessage(`tensor ${t.name}`, t.dtype), { tensor: t.name });
  return t.dtype;
}

export interface TensorReaderOptions {
  /**
   * What a tensor holding NaN or ±Inf does once decoded: 'refuse' (the default) throws a CheckpointError
   * naming it and the count; 'count' returns the data and records it in `nonFinite`.
   */
  nonFinite?: 'refuse' | 'count';
}

/** The message for a tensor with NaN/Inf values; `overflow`: an f32 weight beyond the f16 range. */
export function nonFiniteMessage(name: string, count: number, overflow = false): string {
  if (overflow) return `${name} has ${plural(count, 'value', 'values')} beyond the f16 range (±65504); load the model in f32`;
  return `${name} holds ${plural(count, 'NaN/Inf value', 'NaN/Inf values')}`;
}

/**
 * A positioned reader over a set's files, keeping each file open while tensors are read. Every tensor
 * it decodes is checked for NaN/Inf (see TensorReaderOptions), so the CPU and the GPU paths both do.
 */
export class TensorReader {
  private handles = new Map<string, Awaited<ReturnType<typeof open>>>();
  /** Tensors read so far that hold NaN/Inf, with how many elements each (mode 'count'). */
  readonly nonFinite: { name: string; count: number }[] = [];

  constructor(private readonly opts: TensorReaderOptions = {}) {}

  private checked<T extends Float32Array | Uint16Array>(t: TensorInfo, bytes: Uint8Array, dtype: SafeDtype, data: T): T {
    const count = countNonFinite(data);
    if (count === 0) return data;
    // an f16 result from a wider source: NaN/Inf in the file, or finite values past the f16 range?
    const overflow = data instanceof Uint16Array && dtype !== 'F16' && countNonFinite(decodeToF32(bytes, dtype, data.length)) === 0;
    if ((this.opts.nonFinite ?? 'refuse') === 'refuse' || overflow) {
      const what = overflow ? nonFiniteMessage(t.name, count, true) : `${nonFiniteMessage(t.name, count)}; the checkpoint is corrupt or its training diverged, so every output would be NaN. Use another checkpoint (an earlier one, or a fresh export)`;
      throw new CheckpointError(what, { file: t.file, tensor: t.name, count, nonFinite: !overflow, overflow });
    }
    this.nonFinite.push({ name: t.name, count });
    return data;
  }

  async bytes(t: TensorInfo): Promise<Uint8Array> {
    let fh = this.handles.get(t.file);
    if (!fh) {
      fh = await open(t.file, 'r');
      this.handles.set(t.file, fh);
    }
    const buf = Buffer.alloc(t.byteLength);
    let done = 0;
    while (done < t.byteLength) {
      const { bytesRead } = await fh.read(buf, done, t.byteLength - done, t.offset + done);
      if (bytesRead === 0) throw fail(t.file, `is truncated: reading tensor ${t.name} hit the end of the file (did it change while loading?)`, { tensor: t.name });
      done += bytesRead;
    }
    return buf;
  }

  async f32(t: TensorInfo): Promise<Float32Array> {
    const dtype = loadable(t);
    const bytes = await this.bytes(t);
    return this.checked(t, bytes, dtype, decodeToF32(bytes, dtype, t.byteLength / DTYPE_BYTES[dtype]));
  }

  async f16(t: TensorInfo): Promise<Uint16Array> {
    const dtype = loadable(t);
    const bytes = await this.bytes(t);
    return this.checked(t, bytes, dtype, decodeToF16(bytes, dtype, t.byteLength / DTYPE_BYTES[dtype]));
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.close()));
  }
}
