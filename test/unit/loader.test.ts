import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError, CheckpointError } from '../../src/shared/errors';
import { inspectCheckpoint, loadWeights } from '../../src/main/engine/model/loader';
import { TINY_GTA, TINY_PLM, TINY_QWEN2, tmpDir, writeTinyCheckpoint } from '../helpers/checkpoint';

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

describe('inspectCheckpoint', () => {
  it('reads config, headers, sizes and tokenizer presence without loading weights', async () => {
    const dir = writeTinyCheckpoint(TINY_PLM, { dtype: 'BF16' });
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [5, 7] }));
    const info = await inspectCheckpoint(dir);
    expect(info.config.family).toBe('mla');
    expect(info.spec.ok).toBe(true);
    expect(info.files).toHaveLength(1);
    expect(info.weightBytes).toBe(info.files[0].bytes);
    expect(info.tokenizerFiles).toEqual({ tokenizerJson: false, tokenizerConfig: false });
    expect(info.eosTokenIds).toEqual([5, 7]);
  });

  it('gives specific errors for a missing folder, a file, a folder without config.json and a bad config', async () => {
    expect((await rejection(inspectCheckpoint('/nonexistent/ckpt'))).message).toContain('does not exist');
    const dir = writeTinyCheckpoint(TINY_GTA);
    const e1 = await rejection(inspectCheckpoint(join(dir, 'config.json')));
    expect(e1).toBeInstanceOf(CheckpointError);
    expect(e1.message).toContain('is not a folder');
    const empty = tmpDir();
    expect((await rejection(inspectCheckpoint(empty))).message).toContain('has no config.json');
    writeFileSync(join(empty, 'config.json'), '{"architectures": [');
    expect((await rejection(inspectCheckpoint(empty))).message).toContain('config.json is not valid JSON');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_GTA, num_query_heads: 4 }));
    expect((await rejection(inspectCheckpoint(dir))).message).toBe('config.json: num_attention_heads (6) must be divisible by num_query_heads (4)');
  });
});

describe('loadWeights', () => {
  it('loads every tensor in f32 and f16 with byte progress, from one file or shards', async () => {
    for (const shards of [1, 3]) {
      const dir = writeTinyCheckpoint(TINY_QWEN2, { dtype: 'BF16', shards });
      const events: { done: number; total: number }[] = [];
      const w = await loadWeights(dir, { dtype: 'f32', onProgress: (p) => events.push(p) });
      expect(w.tensors.get('model.layers.1.self_attn.q_proj.bias')!.length).toBe(24);
      expect(w.tensors.has('lm_head.weight')).toBe(false); // tied
      expect(events.at(-1)!.done).toBe(events.at(-1)!.total);
      expect(events.every((e, i) => i === 0 || e.done > events[i - 1].done)).toBe(true);
      const h = await loadWeights(dir, { dtype: 'f16' });
      expect(h.tensors.get('model.norm.weight')).toBeInstanceOf(Uint16Array);
    }
  });

  it('cancels with CancelledError', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA);
    const ac = new AbortController();
    let seen = 0;
    const e = await rejection(
      loadWeights(dir, { dtype: 'f32', signal: ac.signal, onProgress: () => (++seen === 3 ? ac.abort() : undefined) }),
    );
    expect(e).toBeInstanceOf(CancelledError);
    expect(seen).toBe(3);
  });

  it('names a missing tensor and a shape mismatch before reading any weight', async () => {
    const gone = writeTinyCheckpoint(TINY_GTA, { edit: (t) => t.filter((x) => x.name !== 'model.layers.1.self_attn.g_proj.weight') });
    const e = await rejection(loadWeights(gone, { dtype: 'f32' }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe('model.layers.1.self_attn.g_proj.weight is missing; the config implies [48, 48]; the weights do not match config.json');
    const wrong = writeTinyCheckpoint(TINY_PLM, {
      edit: (t) => t.map((x) => (x.name === 'model.layers.0.self_attn.kv_b_proj.weight' ? { ...x, shape: [4 * 14, 8], data: x.data.subarray(0, 4 * 14 * 8) } : x)),
    });
    expect((await rejection(loadWeights(wrong, { dtype: 'f32' }))).message).toContain('model.layers.0.self_attn.kv_b_proj.weight is [56, 8]; the config implies [56, 16]');
  });

  it('reports NaN/Inf per tensor, or fails when strict', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA, {
      dtype: 'BF16',
      edit: (t) =>
        t.map((x) => {
          if (x.name !== 'model.layers.0.mlp.up_proj.weight') return x;
          const data = Float32Array.from(x.data);
          data[3] = NaN;
          data[10] = Infinity;
          return { ...x, data };
        }),
    });
    const w = await loadWeights(dir, { dtype: 'f32', nonFinite: 'report' });
    expect(w.nonFinite).toEqual([{ name: 'model.layers.0.mlp.up_proj.weight', count: 2 }]);
    expect(w.warnings).toContain('model.layers.0.mlp.up_proj.weight holds 2 NaN/Inf values');
    const e = await rejection(loadWeights(dir, { dtype: 'f16', strict: true }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain('model.layers.0.mlp.up_proj.weight holds 2 NaN/Inf values');
  });

  it('fails on a needed weight in an unsupported dtype, and only warns about an unused one', async () => {
    const needed = writeTinyCheckpoint(TINY_GTA, {
      edit: (t) => t.map((x) => (x.name === 'model.layers.1.self_attn.v_b_proj.weight' ? { ...x, dtype: 'I8' as const } : x)),
    });
    const e = await rejection(loadWeights(needed, { dtype: 'f16' }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain('model.layers.1.self_attn.v_b_proj.weight has dtype I8; only F32, F16 and BF16 are supported');
    const extra = writeTinyCheckpoint(TINY_GTA, {
      edit: (t) => [...t, { name: 'model.position_ids', dtype: 'I8', shape: [8], data: new Float32Array(8) }],
    });
    const w = await loadWeights(extra, { dtype: 'f32' });
    expect(w.warnings).toEqual(['model.position_ids is not used by this architecture and will be ignored']);
  });

  it('warns about unexpected tensors and ignores rotary buffers', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA, {
      edit: (t) => [
        ...t,
        { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [4], data: new Float32Array(4) },
        { name: 'value_head.weight', dtype: 'F32', shape: [1, 48], data: new Float32Array(48) },
      ],
    });
    const w = await loadWeights(dir, { dtype: 'f32' });
    expect(w.warnings).toEqual(['value_head.weight is not used by this architecture and will be ignored']);
    expect(w.tensors.has('value_head.weight')).toBe(false);
  });
});
