import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/shared/arch/config';
import { checkSpec, weightSpec } from '../../src/shared/arch/spec';
import { zooConfig } from '../../src/shared/arch/zoo';
import { TINY_DSV2, TINY_QWEN2 } from '../helpers/checkpoint';

const byName = (specs: ReturnType<typeof weightSpec>) => new Map(specs.map((s) => [s.name, s]));

describe('weightSpec', () => {
  it('lists GTA-1B attention weights with the shapes of gta.md', () => {
    const s = byName(weightSpec(zooConfig('GTA-1B')));
    const a = 'model.layers.53.self_attn.';
    expect(s.get(`${a}q_proj.weight`)!.shape).toEqual([320, 1280]);
    expect(s.get(`${a}q_proj.bias`)!.shape).toEqual([320]);
    expect(s.get(`${a}k_proj.weight`)!.shape).toEqual([64, 1280]);
    expect(s.get(`${a}v_proj.weight`)!.shape).toEqual([128, 1280]);
    expect(s.get(`${a}g_proj.weight`)!.shape).toEqual([1280, 1280]);
    expect(s.get(`${a}g_proj.bias`)!.shape).toEqual([1280]);
    expect(s.get(`${a}v_b_proj.weight`)!.shape).toEqual([256, 640]);
    expect(s.has(`${a}v_b_proj.bias`)).toBe(false);
    expect(s.get(`${a}o_proj.weight`)!.shape).toEqual([1280, 1280]);
    expect(s.get('model.layers.0.mlp.gate_proj.weight')!.shape).toEqual([3584, 1280]);
    expect(s.has('model.layers.54.input_layernorm.weight')).toBe(false);
    expect(s.get('lm_head.weight')).toMatchObject({ required: false, counted: false });
  });

  it('lists PLM-1.8B weights with the shapes of plm.md (no gate in the MLP)', () => {
    const s = byName(weightSpec(zooConfig('PLM-1.8B')));
    const a = 'model.layers.0.self_attn.';
    expect(s.get(`${a}q_proj.weight`)!.shape).toEqual([3072, 2048]);
    expect(s.get(`${a}kv_a_proj_with_mqa.weight`)!.shape).toEqual([576, 2048]);
    expect(s.get(`${a}kv_a_layernorm.weight`)!.shape).toEqual([512]);
    expect(s.get(`${a}kv_b_proj.weight`)!.shape).toEqual([4096, 512]);
    expect(s.get(`${a}o_proj.weight`)!.shape).toEqual([2048, 2048]);
    expect(s.has('model.layers.0.mlp.gate_proj.weight')).toBe(false);
    expect(s.get('model.layers.31.mlp.up_proj.weight')!.shape).toEqual([8192, 2048]);
    expect(s.get('model.embed_tokens.weight')!.shape).toEqual([151936, 2048]);
  });

  it('uses q_a_proj / q_a_layernorm / q_b_proj when q_lora_rank is set, and a SwiGLU MLP for DeepSeek-V2', () => {
    const s = byName(weightSpec(normalizeConfig(TINY_DSV2)));
    expect(s.get('model.layers.1.self_attn.q_a_proj.weight')!.shape).toEqual([20, 32]);
    expect(s.get('model.layers.1.self_attn.q_a_layernorm.weight')!.shape).toEqual([20]);
    expect(s.get('model.layers.1.self_attn.q_b_proj.weight')!.shape).toEqual([4 * 10, 20]);
    expect(s.has('model.layers.1.self_attn.q_proj.weight')).toBe(false);
    expect(s.has('model.layers.1.mlp.gate_proj.weight')).toBe(true);
    expect(s.get('lm_head.weight')!.required).toBe(true);
  });

  it('gives Qwen2 q/k/v biases and no o_proj bias', () => {
    const s = byName(weightSpec(normalizeConfig(TINY_QWEN2)));
    expect(s.get('model.layers.0.self_attn.k_proj.bias')!.shape).toEqual([8]);
    expect(s.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
  });
});

describe('checkSpec', () => {
  const spec = weightSpec(zooConfig('PLM-1.8B'));
  const present = () => new Map(spec.filter((s) => s.required).map((s) => [s.name, { shape: [...s.shape] }]));

  it('passes a complete checkpoint and ignores a missing tied head', () => {
    const r = checkSpec(spec, present());
    expect(r.ok).toBe(true);
    expect(r.errors).toEqual([]);
  });

  it('names a shape mismatch with the shape found and the shape implied', () => {
    const p = present();
    p.set('model.layers.3.self_attn.kv_b_proj.weight', { shape: [4096, 256] });
    const r = checkSpec(spec, p);
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toBe('model.layers.3.self_attn.kv_b_proj.weight is [4096, 256]; the config implies [4096, 512]');
    expect(r.mismatched).toHaveLength(1);
  });

  it('names a missing tensor, warns about extras and drops rotary inv_freq silently', () => {
    const p = present();
    p.delete('model.layers.7.mlp.down_proj.weight');
    p.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [32] });
    p.set('model.mtp.head.weight', { shape: [4, 4] });
    const r = checkSpec(spec, p);
    expect(r.missing).toEqual(['model.layers.7.mlp.down_proj.weight']);
    expect(r.errors[0]).toBe('model.layers.7.mlp.down_proj.weight is missing; the config implies [2048, 8192]');
    expect(r.unexpected).toEqual(['model.mtp.head.weight']);
    expect(r.warnings[0]).toContain('model.mtp.head.weight');
  });

  it('checks a tied head present in the file for shape too', () => {
    const p = present();
    p.set('lm_head.weight', { shape: [151936, 1024] });
    expect(checkSpec(spec, p).errors[0]).toContain('lm_head.weight is [151936, 1024]');
  });
});
