// Issue 15, item 4 at the loader: NaN/Inf weights are refused with the count and the first tensor
// names (CPU and GPU paths share TensorReader), and safetensors files whose header length is off, whose
// data region has gaps or trailing bytes, or whose header names a tensor twice are rejected by name.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/shared/errors';
import { loadWeights, scanNonFinite } from '../../src/main/engine/model/loader';
import { openSafetensors, readSafetensorsHeader, TensorReader } from '../../src/main/engine/model/safetensors';
import { safetensorsBytes, TINY_GTA, TINY_LLAMA, tmpDir, writeTinyCheckpoint, type RawTensor } from '../helpers/checkpoint';

async function rejection(p: Promise<unknown>): Promise<CheckpointError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError;
}

/** A tiny checkpoint with `count` NaN/Inf values written into each named tensor. */
function poisoned(raw: Record<string, unknown>, where: Record<string, number>, dtype: 'F32' | 'BF16' = 'F32'): string {
  return writeTinyCheckpoint(raw, {
    dtype,
    edit: (ts) =>
      ts.map((t) => {
        const n = where[t.name];
        if (!n) return t;
        const data = Float32Array.from(t.data);
        for (let i = 0; i < n; i++) data[i] = i % 2 ? Infinity : NaN;
        return { ...t, data };
      }),
  });
}

describe('NaN/Inf weights', () => {
  it('refuses one NaN in model.norm.weight on the CPU path (f32 and f16), naming the tensor and the count', async () => {
    const dir = poisoned(TINY_LLAMA, { 'model.norm.weight': 1 });
    for (const dtype of ['f32', 'f16'] as const) {
      const e = await rejection(loadWeights(dir, { dtype }));
      expect(e.message).toBe('model.norm.weight holds 1 NaN/Inf value (1 tensor, 1 value in all); the checkpoint is corrupt or its training diverged, so every output would be NaN. Use another checkpoint (an earlier one, or a fresh export)');
      expect(e.details).toMatchObject({ nonFinite: [{ name: 'model.norm.weight', count: 1 }], nonFiniteTensors: 1, nonFiniteValues: 1 });
    }
  });

  it('counts every poisoned tensor and lists the first ones', async () => {
    const dir = poisoned(TINY_GTA, { 'model.embed_tokens.weight': 3, 'model.layers.0.mlp.up_proj.weight': 2, 'model.layers.1.self_attn.g_proj.weight': 4, 'model.norm.weight': 1 }, 'BF16');
    const e = await rejection(loadWeights(dir, { dtype: 'f16' }));
    expect(e.message).toMatch(/^model\.embed_tokens\.weight holds 3 NaN\/Inf values \(4 tensors, 10 values in all: model\.embed_tokens\.weight, model\.layers\.0\.mlp\.up_proj\.weight, model\.layers\.1\.self_attn\.g_proj\.weight and 1 more\)/);
    const scan = await scanNonFinite(dir);
    expect(scan).toEqual([
      { name: 'model.embed_tokens.weight', count: 3 },
      { name: 'model.layers.0.mlp.up_proj.weight', count: 2 },
      { name: 'model.layers.1.self_attn.g_proj.weight', count: 4 },
      { name: 'model.norm.weight', count: 1 },
    ]);
    // the report mode still loads them, for tools that look at a broken checkpoint on purpose
    expect((await loadWeights(dir, { dtype: 'f32', nonFinite: 'report' })).nonFinite).toEqual(scan);
  });

  it('has the tensor reader (the GPU upload path) refuse a poisoned tensor by default', async () => {
    const dir = poisoned(TINY_LLAMA, { 'model.norm.weight': 1 });
    const { tensors } = await openSafetensors(dir);
    const r = new TensorReader();
    const e = await rejection(r.f16(tensors.get('model.norm.weight')!));
    expect(e.message).toContain('model.norm.weight holds 1 NaN/Inf value');
    expect(e.details).toMatchObject({ tensor: 'model.norm.weight', count: 1 });
    await r.close();
  });

  it('tells an f32 weight that overflows f16 from a NaN in the file', async () => {
    const dir = writeTinyCheckpoint(TINY_LLAMA, { edit: (ts) => ts.map((t) => (t.name === 'model.norm.weight' ? { ...t, data: Float32Array.from(t.data, (v, i) => (i === 0 ? 1e6 : v)) } : t)) });
    expect((await loadWeights(dir, { dtype: 'f32' })).nonFinite).toEqual([]);
    const e = await rejection(loadWeights(dir, { dtype: 'f16' }));
    expect(e.message).toContain('model.norm.weight has 1 value beyond the f16 range (±65504); load the model in f32');
  });
});

const vals = Float32Array.from([1, -2.5, 0.5, 4]);
const two = (): RawTensor[] => [
  { name: 'a', dtype: 'F32', shape: [4], data: vals },
  { name: 'b', dtype: 'F32', shape: [2, 2], data: vals },
];

function write(bytes: Buffer): string {
  const file = join(tmpDir(), 'model.safetensors');
  writeFileSync(file, bytes);
  return file;
}

/** Rewrite the header JSON (kept at its length, padded with spaces) of a two-tensor file. */
function withHeader(text: (json: string) => string, tail: Buffer = Buffer.alloc(0)): string {
  const b = safetensorsBytes(two());
  const n = Number(b.readBigUInt64LE(0));
  const json = text(b.subarray(8, 8 + n).toString());
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return write(Buffer.concat([len, Buffer.from(json), b.subarray(8 + n), tail]));
}

describe('safetensors layout', () => {
  it('rejects a header length one short (every tensor read one byte early) and one of -1', async () => {
    // a header padded with spaces (as writers pad it to 8 bytes) still parses one byte short
    const padded = readFileSync(withHeader((j) => `${j.trimEnd()}        `));
    padded.writeBigUInt64LE(padded.readBigUInt64LE(0) - 1n, 0);
    const e = await rejection(readSafetensorsHeader(write(padded)));
    expect(e.message).toBe('model.safetensors: 1 byte after the last tensor (b) is not part of any tensor; the header length or the data offsets are wrong, so the file is corrupt (re-download or re-export it)');
    const m1 = Buffer.from(safetensorsBytes(two()));
    m1.writeBigInt64LE(-1n, 0);
    expect((await rejection(readSafetensorsHeader(write(m1)))).message).toContain('header claims 18446744073709551615 bytes past the end of the file');
  });

  it('rejects trailing bytes after the data region', async () => {
    const file = write(Buffer.concat([safetensorsBytes(two()), Buffer.from([0, 0, 0])]));
    expect((await rejection(readSafetensorsHeader(file))).message).toContain('3 bytes after the last tensor (b) are not part of any tensor');
  });

  it('rejects a gap between tensors and data that does not start at offset 0', async () => {
    const gap = withHeader((j) => j.replace('"data_offsets":[16,32]', '"data_offsets":[20,36]'), Buffer.alloc(4));
    expect((await rejection(readSafetensorsHeader(gap))).message).toBe('model.safetensors: 4 bytes between tensors a and b are not part of any tensor; the data offsets are wrong, so the file is corrupt (re-download or re-export it)');
    const late = withHeader((j) => j.replace('"data_offsets":[0,16]', '"data_offsets":[32,48]').replace('"data_offsets":[16,32]', '"data_offsets":[48,64]'), Buffer.alloc(32));
    expect((await rejection(readSafetensorsHeader(late))).message).toContain('the first 32 bytes of the data region, before tensor a, are not part of any tensor');
  });

  it('rejects a tensor named twice in the header (JSON keeps the last one silently)', async () => {
    const dup = withHeader((j) => j.replace('"b":', '"a":'));
    expect((await rejection(readSafetensorsHeader(dup))).message).toBe('model.safetensors: the header names tensor a twice; the file is corrupt (re-download or re-export it)');
  });

  it('still reads a well-formed file, an empty tensor and __metadata__ included', async () => {
    const file = write(safetensorsBytes([...two(), { name: 'empty', dtype: 'F32', shape: [0], data: new Float32Array(0) }], { format: 'pt' }));
    expect((await readSafetensorsHeader(file)).tensors.map((t) => t.name)).toEqual(['a', 'b', 'empty']);
    expect(readFileSync(file).length).toBeGreaterThan(32);
  });
});
