import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/shared/errors';
import { countNonFinite, decodeToF16, decodeToF32 } from '../../src/main/engine/model/dtype';
import { openSafetensors, readSafetensorsHeader, TensorReader } from '../../src/main/engine/model/safetensors';
import { safetensorsBytes, tmpDir, type RawTensor } from '../helpers/checkpoint';

const vals = Float32Array.from([1, -2.5, 0.1, 65504, 3.14159, -0.0001, 7, 1e-6]);
const tensors = (): RawTensor[] => [
  { name: 'a.f32', dtype: 'F32', shape: [2, 4], data: vals },
  { name: 'b.f16', dtype: 'F16', shape: [8], data: vals },
  { name: 'c.bf16', dtype: 'BF16', shape: [4, 2], data: vals },
  { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
];

function write(bytes: Buffer, name = 'model.safetensors'): string {
  const dir = tmpDir();
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

async function rejection(p: Promise<unknown>): Promise<CheckpointError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError;
}

describe('element decoding', () => {
  it('widens bf16 exactly and packs f32 / bf16 to f16 bits', () => {
    const bytes = new Uint8Array([0x80, 0x3f, 0x00, 0xc0, 0x80, 0x7f, 0xc0, 0x7f]); // bf16 1.0, -2.0, +Inf, NaN
    const f = decodeToF32(bytes, 'BF16', 4);
    expect([...f.subarray(0, 3)]).toEqual([1, -2, Infinity]);
    expect(Number.isNaN(f[3])).toBe(true);
    expect([...decodeToF16(bytes, 'BF16', 2)]).toEqual([0x3c00, 0xc000]);
    expect(countNonFinite(f)).toBe(2);
    expect(countNonFinite(decodeToF16(bytes, 'BF16', 4))).toBe(2);
    // an f32 above the f16 range becomes Inf on packing, which the NaN/Inf report then catches
    const big = new Uint8Array(new Float32Array([70000, 0.5]).buffer);
    expect([...decodeToF16(big, 'F32', 2)]).toEqual([0x7c00, 0x3800]);
    // unaligned source bytes
    const odd = new Uint8Array(9);
    odd.set(new Uint8Array(new Float32Array([1.5, -3]).buffer), 1);
    expect([...decodeToF32(odd.subarray(1), 'F32', 2)]).toEqual([1.5, -3]);
  });
});

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 tensors with positioned reads, as f32 or packed f16', async () => {
    const file = write(safetensorsBytes(tensors(), { format: 'pt' }));
    const { tensors: list, bytes } = await readSafetensorsHeader(file);
    expect(bytes).toBe(readFileSync(file).length);
    expect(list.map((t) => t.name)).toEqual(['a.f32', 'b.f16', 'c.bf16', 'empty']);
    const r = new TensorReader();
    const [a, b, c] = list;
    expect([...(await r.f32(a))]).toEqual([...vals]);
    const bf = await r.f32(b);
    const cf = await r.f32(c);
    for (let i = 0; i < vals.length; i++) {
      expect(Math.abs(bf[i] - vals[i])).toBeLessThanOrEqual(Math.abs(vals[i]) * 2 ** -11 + 2 ** -24);
      expect(Math.abs(cf[i] - vals[i])).toBeLessThanOrEqual(Math.abs(vals[i]) * 2 ** -8);
    }
    const h = await r.f16(a);
    expect(h[0]).toBe(0x3c00);
    expect(h[3]).toBe(0x7bff);
    expect((await r.f32(list[3])).length).toBe(0);
    await r.close();
  });

  it('reads a sharded checkpoint through its index', async () => {
    const dir = tmpDir();
    const t = tensors();
    writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), safetensorsBytes(t.slice(0, 2)));
    writeFileSync(join(dir, 'model-00002-of-00002.safetensors'), safetensorsBytes(t.slice(2)));
    const weight_map = Object.fromEntries(t.map((x, i) => [x.name, `model-0000${i < 2 ? 1 : 2}-of-00002.safetensors`]));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
    const set = await openSafetensors(dir);
    expect(set.files).toHaveLength(2);
    expect([...set.tensors.keys()].sort()).toEqual(['a.f32', 'b.f16', 'c.bf16', 'empty']);
    const r = new TensorReader();
    expect([...(await r.f32(set.tensors.get('a.f32')!))]).toEqual([...vals]);
    await r.close();
    weight_map['a.f32'] = 'model-00002-of-00002.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
    expect((await rejection(openSafetensors(dir))).message).toContain('places a.f32 in model-00002-of-00002.safetensors, but it is in model-00001');
  });

  it('reports a truncated file naming the file and the tensor', async () => {
    const full = safetensorsBytes(tensors());
    const file = write(full.subarray(0, full.length - 5));
    const e = await rejection(readSafetensorsHeader(file));
    expect(e.message).toMatch(/^model\.safetensors: is truncated: tensor c\.bf16 needs data bytes up to \d+ but the file holds only \d+/);
    expect((await rejection(readSafetensorsHeader(write(full.subarray(0, 5))))).message).toContain('is truncated: 5 bytes');
  });

  it('reports a header that claims bytes past the end of the file', async () => {
    const bytes = Buffer.from(safetensorsBytes(tensors()));
    bytes.writeBigUInt64LE(BigInt(bytes.length * 10), 0);
    const e = await rejection(readSafetensorsHeader(write(bytes)));
    expect(e.message).toContain(`header claims ${bytes.length * 10} bytes past the end of the file`);
    expect(e.message).not.toContain('truncated:');
  });

  it('lists tensors of other dtypes but refuses to read them, naming the dtype and the tensor', async () => {
    const file = write(safetensorsBytes([{ name: 'q.int8', dtype: 'I8', shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]));
    const { tensors: list } = await readSafetensorsHeader(file);
    expect(list[0]).toMatchObject({ name: 'q.int8', dtype: 'I8', byteLength: 4 });
    const r = new TensorReader();
    const e = await rejection(r.f32(list[0]));
    expect(e.message).toBe('model.safetensors: tensor q.int8 has dtype I8; only F32, F16 and BF16 are supported (re-export the checkpoint in bf16 or f16)');
    await rejection(r.f16(list[0]));
    await r.close();
    const b = Buffer.from(safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) }]).toString('latin1').replace('"F32"', '"Q4K"'), 'latin1');
    expect((await rejection(readSafetensorsHeader(write(b)))).message).toContain('tensor x has dtype Q4K, which is not a safetensors dtype');
  });

  it('rejects offsets inconsistent with shape × dtype, overlaps and a non-JSON header', async () => {
    const edit = (mutate: (h: Record<string, { data_offsets: number[]; shape: number[] }>) => void): string => {
      const b = safetensorsBytes(tensors());
      const n = Number(b.readBigUInt64LE(0));
      const h = JSON.parse(b.subarray(8, 8 + n).toString());
      mutate(h);
      const json = JSON.stringify(h).padEnd(n, ' ');
      expect(json.length).toBe(n);
      return write(Buffer.concat([b.subarray(0, 8), Buffer.from(json), b.subarray(8 + n)]));
    };
    let e = await rejection(readSafetensorsHeader(edit((h) => (h['a.f32'].shape = [3, 4]))));
    expect(e.message).toContain('tensor a.f32: data_offsets span 32 bytes but shape [3, 4] of F32 needs 48');
    e = await rejection(readSafetensorsHeader(edit((h) => (h['b.f16'].data_offsets = [16, 32]))));
    expect(e.message).toContain('overlap');
    const bad = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a"')]);
    expect((await rejection(readSafetensorsHeader(write(bad)))).message).toContain('header is not valid JSON');
  });

  it('says what is missing when a folder has no weights, or weights in another format', async () => {
    const dir = tmpDir();
    expect((await rejection(openSafetensors(dir))).message).toContain('has no model.safetensors and no model.safetensors.index.json');
    writeFileSync(join(dir, 'pytorch_model.bin'), 'x');
    expect((await rejection(openSafetensors(dir))).message).toContain('It holds pytorch_model.bin: convert the weights to safetensors');
  });

  it('names a shard the index lists but the folder lacks', async () => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), safetensorsBytes(tensors().slice(0, 1)));
    const weight_map = { 'a.f32': 'model-00001-of-00002.safetensors', 'b.f16': 'model-00002-of-00002.safetensors' };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
    expect((await rejection(openSafetensors(dir))).message).toBe('model-00002-of-00002.safetensors: cannot be read (missing or not accessible)');
  });
});
