import { describe, expect, it } from 'vitest';
import { normalizeConfig, variantOf, type GtaConfig, type LlamaConfig, type MlaConfig } from '../../src/shared/arch/config';
import { CheckpointError } from '../../src/shared/errors';
import { zooConfig, ZOO } from '../../src/shared/arch/zoo';
import { TINY_DSV2, TINY_GTA, TINY_PLM, TINY_QWEN2 } from '../helpers/checkpoint';

const raw = (name: string) => structuredClone(ZOO.find((z) => z.name === name)!.raw);

function errorOf(f: () => unknown): CheckpointError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

/** The same model as transformers 5 writes it: dtype, rope_parameters, no rope_theta at top level. */
function asV5(r: Record<string, unknown>): Record<string, unknown> {
  const { torch_dtype, rope_theta, rope_scaling: _s, ...rest } = r;
  return { ...rest, dtype: torch_dtype, rope_parameters: { rope_type: 'default', rope_theta: rope_theta ?? 10000 }, transformers_version: '5.17.0' };
}

// Written by transformers 5.17.0's LlamaConfig / Qwen2Config / DeepseekV2Config.save_pretrained (config
// only, hence no architectures), and the same models as a transformers 4.x export writes them.
const V5_WRITTEN: Record<string, Record<string, unknown>> = {
  llama: {"attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1, "dtype": "bfloat16", "eos_token_id": 2, "head_dim": 8, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 48, "max_position_embeddings": 64, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": null, "pretraining_tp": 1, "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 50000.0, "rope_type": "default"}, "tie_word_embeddings": false, "transformers_version": "5.17.0", "use_cache": true, "vocab_size": 61},
  qwen2: {"attention_dropout": 0.0, "bos_token_id": null, "dtype": "bfloat16", "eos_token_id": null, "hidden_act": "silu", "hidden_size": 24, "initializer_range": 0.02, "intermediate_size": 40, "layer_types": ["full_attention", "full_attention"], "max_position_embeddings": 64, "max_window_layers": 28, "model_type": "qwen2", "num_attention_heads": 6, "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": null, "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}, "sliding_window": null, "tie_word_embeddings": true, "transformers_version": "5.17.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 53},
  dsv2: {"attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1, "dtype": "bfloat16", "eos_token_id": 2, "first_k_dense_replace": 2, "head_dim": 4, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 40, "kv_lora_rank": 12, "max_position_embeddings": 64, "mlp_bias": false, "model_type": "deepseek_v2", "moe_intermediate_size": 1407, "n_group": null, "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": false, "num_attention_heads": 4, "num_experts_per_tok": null, "num_hidden_layers": 2, "num_key_value_heads": 4, "pad_token_id": null, "pretraining_tp": 1, "q_lora_rank": 20, "qk_head_dim": 10, "qk_nope_head_dim": 6, "qk_rope_head_dim": 4, "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "routed_scaling_factor": 1.0, "tie_word_embeddings": false, "topk_group": null, "topk_method": "greedy", "transformers_version": "5.17.0", "use_cache": true, "v_head_dim": 8, "vocab_size": 47},
};
const V4_WRITTEN: Record<string, Record<string, unknown>> = {
  llama: {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 61, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 50000.0, rope_scaling: null,
    max_position_embeddings: 64, tie_word_embeddings: false, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2, transformers_version: '4.51.3',
  },
  qwen2: {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 53, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 2,
    num_attention_heads: 6, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_scaling: null,
    sliding_window: 4096, use_sliding_window: false, max_window_layers: 28, max_position_embeddings: 64, tie_word_embeddings: true,
    torch_dtype: 'bfloat16', transformers_version: '4.51.3',
  },
  dsv2: {
    architectures: ['DeepseekV2ForCausalLM'], model_type: 'deepseek_v2', vocab_size: 47, hidden_size: 32, intermediate_size: 40,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, kv_lora_rank: 12, q_lora_rank: 20, qk_nope_head_dim: 6,
    qk_rope_head_dim: 4, v_head_dim: 8, hidden_act: 'silu', rms_norm_eps: 1e-6, n_routed_experts: 64, first_k_dense_replace: 2,
    rope_theta: 10000.0, rope_scaling: null, max_position_embeddings: 64, tie_word_embeddings: false, torch_dtype: 'bfloat16',
    bos_token_id: 1, eos_token_id: 2, transformers_version: '4.51.3',
  },
};

describe('normalizeConfig', () => {
  it('reads configs written by transformers 5.17 the same as their transformers 4 form', () => {
    for (const name of Object.keys(V5_WRITTEN)) {
      const v5 = normalizeConfig(V5_WRITTEN[name]);
      expect(v5, name).toEqual(normalizeConfig(V4_WRITTEN[name]));
    }
    expect(normalizeConfig(V5_WRITTEN.llama).ropeTheta).toBe(50000);
    expect((normalizeConfig(V5_WRITTEN.dsv2) as MlaConfig).qLoraRank).toBe(20);
  });

  it('parses transformers 4 and 5 configs of every family to the same ModelConfig', () => {
    for (const r of [raw('PLM-1.8B'), raw('GTA-1B'), raw('GQA-1B'), TINY_QWEN2, TINY_DSV2]) {
      const v4 = normalizeConfig(r);
      const v5 = normalizeConfig(asV5(r));
      expect(v5).toEqual(v4);
    }
    expect(normalizeConfig(asV5(raw('PLM-1.8B'))).ropeTheta).toBe(100000);
  });

  it('reads PLM-1.8B as MLA with relu2 and a tied head', () => {
    const c = normalizeConfig(raw('PLM-1.8B')) as MlaConfig;
    expect(c.family).toBe('mla');
    expect(c.mlp).toBe('relu2');
    expect([c.kvLoraRank, c.qkNopeHeadDim, c.qkRopeHeadDim, c.vHeadDim, c.qLoraRank]).toEqual([512, 128, 64, 128, null]);
    expect(c.tieWordEmbeddings).toBe(true);
    expect(c.dtype).toBe('bfloat16');
    expect(variantOf(c)).toBe('MLA');
    // PLM's own default ties the head; DeepSeek-V2's does not
    const { tie_word_embeddings: _t, ...untied } = raw('PLM-1.8B');
    expect(normalizeConfig(untied).tieWordEmbeddings).toBe(true);
    const { tie_word_embeddings: _u, ...ds } = TINY_DSV2;
    expect(normalizeConfig(ds).tieWordEmbeddings).toBe(false);
  });

  it('derives the MLP from hidden_act: DeepSeek-V2 SwiGLU, PLM relu2', () => {
    expect(normalizeConfig(TINY_DSV2).mlp).toBe('swiglu');
    expect(normalizeConfig(TINY_PLM).mlp).toBe('relu2');
    expect((normalizeConfig(TINY_DSV2) as MlaConfig).qLoraRank).toBe(20);
    expect(errorOf(() => normalizeConfig({ ...TINY_DSV2, hidden_act: 'relu2' })).message).toMatch(/hidden_act \("relu2"\).*"silu"/);
  });

  it('detects GTA by its six fields although model_type says llama', () => {
    const { architectures: _a, ...noArch } = raw('GTA-1B');
    const c = normalizeConfig({ ...noArch, architectures: ['LlamaForCausalLM'] }) as GtaConfig;
    expect(c.family).toBe('gta');
    expect([c.numQueryHeads, c.numKeyHeads, c.numValueHeads, c.queryDim, c.valueDim, c.valueExpand]).toEqual([5, 1, 1, 64, 128, 2]);
    expect(c.headDim).toBe(64);
    expect(c.eosTokenIds).toEqual([128001]);
  });

  it('fills defaults: head_dim = hidden / heads, num_key_value_heads = heads', () => {
    const c = normalizeConfig({ architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 1, num_attention_heads: 4 }) as LlamaConfig;
    expect([c.headDim, c.numKvHeads, c.ropeTheta, c.tieWordEmbeddings, c.qkvBias]).toEqual([16, 4, 10000, false, false]);
    expect(variantOf(c)).toBe('MHA');
  });

  it('gives Qwen2 q/k/v biases but no o bias, Llama attention_bias all four', () => {
    const q = normalizeConfig(TINY_QWEN2) as LlamaConfig;
    expect([q.qkvBias, q.oBias, q.tieWordEmbeddings]).toEqual([true, false, true]);
    const l = normalizeConfig({ ...raw('GQA-1B'), attention_bias: true }) as LlamaConfig;
    expect([l.qkvBias, l.oBias]).toEqual([true, true]);
    expect(variantOf(l)).toBe('GQA');
  });

  it('collects eos ids given as a list', () => {
    expect(normalizeConfig({ ...raw('GQA-1B'), eos_token_id: [128001, 128009] }).eosTokenIds).toEqual([128001, 128009]);
  });

  it('rejects an unknown architecture and lists the supported ones', () => {
    const e = errorOf(() => normalizeConfig({ ...raw('GQA-1B'), architectures: ['MistralForCausalLM'], model_type: 'mistral' }));
    expect(e.message).toContain('"MistralForCausalLM"');
    for (const a of ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'PLMForCausalLM', 'DeepseekV2ForCausalLM', 'GTAForCausalLM']) expect(e.message).toContain(a);
  });

  it('names the first bad field and what it should be', () => {
    expect(errorOf(() => normalizeConfig({ ...raw('GTA-1B'), num_query_heads: 3 })).message).toBe(
      'config.json: num_attention_heads (20) must be divisible by num_query_heads (3)',
    );
    expect(errorOf(() => normalizeConfig({ ...raw('GQA-1B'), num_key_value_heads: 3 })).message).toContain('num_attention_heads (20) must be divisible by num_key_value_heads (3)');
    expect(errorOf(() => normalizeConfig({ ...raw('GQA-1B'), hidden_size: -5 })).message).toContain('hidden_size (-5) must be a positive integer');
    const { kv_lora_rank: _k, ...noRank } = raw('PLM-1.8B');
    expect(errorOf(() => normalizeConfig(noRank)).message).toContain('kv_lora_rank is missing');
    expect(errorOf(() => normalizeConfig({ ...raw('GQA-1B'), torch_dtype: 'int8' })).message).toContain('torch_dtype ("int8")');
    expect(errorOf(() => normalizeConfig({ ...raw('GQA-1B'), rope_scaling: { rope_type: 'llama3', factor: 8 } })).message).toContain('rope_scaling.rope_type ("llama3") is not supported');
    expect(errorOf(() => normalizeConfig({ ...raw('GTA-1B'), key_dim: 32 })).message).toContain('query_dim (64) must equal key_dim (32)');
    expect(errorOf(() => normalizeConfig({ ...TINY_DSV2, n_routed_experts: 64, first_k_dense_replace: 1 })).message).toContain('mixture-of-experts');
    expect(errorOf(() => normalizeConfig([1, 2])).message).toContain('JSON object');
  });

  it('builds every zoo entry', () => {
    for (const z of ZOO) expect(zooConfig(z.name).numLayers).toBeGreaterThan(0);
    expect(normalizeConfig(TINY_GTA).family).toBe('gta');
  });
});
