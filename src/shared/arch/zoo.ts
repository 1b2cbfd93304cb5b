// Reference configurations as config.json objects (so they go through the same normalisation as a
// checkpoint): the GTA paper's Table 5/6 models, the released GTA-1B and PLM-1.8B. The calculators and
// the formula tests use them. The paper reports parameters in units of 2^20 ("M" = MiB-style): with
// vocab 32,000 for the 160M rows and 128,256 for the 1B rows, the weight lists below reproduce its
// column (see formulas.test.ts). MLA-160M's per-head dims (nope 64, v 64) are not printed in the paper;
// they are the values that give its 172.5M.
import { normalizeConfig, type ModelConfig } from './config';

export interface ZooEntry {
  name: string;
  raw: Record<string, unknown>;
  /** The paper's parameter column, in units of 2^20, where it has one. */
  paperParamsM?: number;
  /** The paper's cache values per token per layer. */
  paperKvValues?: number;
}

const small = {
  vocab_size: 32000, hidden_size: 768, intermediate_size: 1920, num_hidden_layers: 24, num_attention_heads: 12,
  head_dim: 64, tie_word_embeddings: true, max_position_embeddings: 2048, rms_norm_eps: 1e-5, torch_dtype: 'bfloat16',
};
const large = {
  vocab_size: 128256, hidden_size: 1280, intermediate_size: 3584, num_hidden_layers: 54, num_attention_heads: 20,
  head_dim: 64, tie_word_embeddings: true, max_position_embeddings: 2048, rms_norm_eps: 1e-5, torch_dtype: 'bfloat16',
  bos_token_id: 128000, eos_token_id: 128001,
};
const llama = { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu' };
const gta = { architectures: ['GTAForCausalLM'], model_type: 'llama', hidden_act: 'silu', query_dim: 64, key_dim: 64, num_key_heads: 1, num_value_heads: 1, value_dim: 128 };

export const ZOO: ZooEntry[] = [
  { name: 'GQA-160M', raw: { ...llama, ...small, num_key_value_heads: 3 }, paperParamsM: 158.5, paperKvValues: 384 },
  {
    name: 'MLA-160M',
    raw: {
      architectures: ['DeepseekV2ForCausalLM'], model_type: 'deepseek_v2', hidden_act: 'silu', ...small,
      kv_lora_rank: 256, qk_rope_head_dim: 32, qk_nope_head_dim: 64, v_head_dim: 64, q_lora_rank: null,
    },
    paperParamsM: 172.5,
    paperKvValues: 288,
  },
  { name: 'MHA-160M', raw: { ...llama, ...small, num_key_value_heads: 12 }, paperParamsM: 178.8, paperKvValues: 1536 },
  { name: 'GTA1-160M', raw: { ...gta, ...small, num_query_heads: 3 }, paperParamsM: 160.8, paperKvValues: 192 },
  { name: 'GTA2-160M', raw: { ...gta, ...small, num_query_heads: 6 }, paperParamsM: 164.1, paperKvValues: 192 },
  { name: 'GQA-1B', raw: { ...llama, ...large, num_key_value_heads: 5 }, paperParamsM: 1076.4, paperKvValues: 640 },
  { name: 'GTA-1B', raw: { ...gta, ...large, num_query_heads: 5, rope_theta: 10000 }, paperParamsM: 1076.5, paperKvValues: 192 },
  {
    name: 'PLM-1.8B',
    raw: {
      architectures: ['PLMForCausalLM'], model_type: 'plm', vocab_size: 151936, hidden_size: 2048, intermediate_size: 8192,
      num_hidden_layers: 32, num_attention_heads: 16, num_key_value_heads: 16, kv_lora_rank: 512, q_lora_rank: null,
      qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, hidden_act: 'relu2', rms_norm_eps: 1e-6,
      tie_word_embeddings: true, rope_theta: 100000, rope_scaling: null, max_position_embeddings: 4096,
      attention_bias: false, torch_dtype: 'bfloat16', bos_token_id: 151643, eos_token_id: 151643,
    },
    paperKvValues: 576,
  },
];

export function zooConfig(name: string): ModelConfig {
  const e = ZOO.find((z) => z.name === name);
  if (!e) throw new RangeError(`no zoo entry "${name}"; known: ${ZOO.map((z) => z.name).join(', ')}`);
  return normalizeConfig(e.raw);
}
