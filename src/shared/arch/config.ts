// config.json → ModelConfig: one normalised record per checkpoint, whatever transformers version wrote
// it (4.x: top-level rope_theta and torch_dtype; 5.x: rope_parameters and dtype). Every check names
// the field at fault and what it should be, so a user can fix the file or pick another checkpoint.
import { CheckpointError } from '../errors';

export type Family = 'llama' | 'mla' | 'gta';
/** swiglu: down(silu(gate(x)) ⊙ up(x)); relu2: down(relu(up(x))²), no gate (PLM). */
export type MlpKind = 'swiglu' | 'relu2';
export type ConfigDtype = 'float32' | 'float16' | 'bfloat16';

interface CommonConfig {
  architecture: string; // as written in architectures[0]
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  dtype: ConfigDtype;
  hiddenAct: string;
  mlp: MlpKind;
  mlpBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

/** Llama / Qwen2: MHA when numKvHeads = numHeads, else GQA (MQA at 1). */
export interface LlamaConfig extends CommonConfig {
  family: 'llama';
  numKvHeads: number;
  headDim: number;
  qkvBias: boolean; // Qwen2 always; Llama with attention_bias
  oBias: boolean; // Llama with attention_bias only
}

/** PLM and dense DeepSeek-V2: multi-head latent attention, interleaved RoPE on the rope dims. */
export interface MlaConfig extends CommonConfig {
  family: 'mla';
  qLoraRank: number | null; // null: q = q_proj(x); else q = q_b_proj(RMSNorm(q_a_proj(x)))
  kvLoraRank: number; // d_c
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
  attentionBias: boolean; // bias on q_proj / q_a_proj and kv_a_proj_with_mqa
}

/** GTA: n_q query groups sharing maps, n_k key heads, n_c latent value groups of d_l. */
export interface GtaConfig extends CommonConfig {
  family: 'gta';
  headDim: number; // only in the softmax scale
  numQueryHeads: number; // n_q
  queryDim: number;
  numKeyHeads: number; // n_k
  keyDim: number;
  numValueHeads: number; // n_c
  valueDim: number; // d_l
  valueExpand: number; // e = hidden / (n_q · d_l)
}

export type ModelConfig = LlamaConfig | MlaConfig | GtaConfig;

export const SUPPORTED_ARCHITECTURES = [
  'LlamaForCausalLM',
  'Qwen2ForCausalLM',
  'PLMForCausalLM',
  'DeepseekV2ForCausalLM',
  'GTAForCausalLM',
] as const;

type Raw = Record<string, unknown>;

const GTA_FIELDS = ['num_query_heads', 'query_dim', 'num_key_heads', 'key_dim', 'num_value_heads', 'value_dim'];

function bad(field: string, problem: string): CheckpointError {
  return new CheckpointError(`config.json: ${field} ${problem}`, { field });
}

/**
 * The largest value each config integer may hold: several times what the largest published checkpoints
 * use (Llama-3.1-405B: 126 layers, 128 heads, hidden 16384, intermediate 53248; Gemma: a 256k vocabulary;
 * 1M-token contexts), and small enough that any work proportional to one of them (the weight spec has a
 * row per layer and tensor) stays bounded. A config past them is damaged or hostile, never a real model.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  vocab_size: 4194304,
  max_position_embeddings: 16777216,
  head_dim: 8192,
  q_lora_rank: 65536,
  kv_lora_rank: 65536,
  qk_nope_head_dim: 8192,
  qk_rope_head_dim: 8192,
  v_head_dim: 8192,
  num_query_heads: 1024,
  num_key_heads: 1024,
  num_value_heads: 1024,
  query_dim: 8192,
  key_dim: 8192,
  value_dim: 8192,
};

/** Token ids listed for bos/eos, at most. */
const MAX_TOKEN_ID_LIST = 256;

/** An integer for a message: grouped digits, or exponent notation past 2^53 (no 300-digit numbers). */
export function fmtInt(v: number): string {
  return Math.abs(v) <= Number.MAX_SAFE_INTEGER ? v.toLocaleString('en-US') : v.toExponential();
}

const FIX = 'use the config.json published with the weights';

function posInt(raw: Raw, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (v === undefined || v === null) throw bad(field, 'is missing; it must be a positive integer');
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(field, `(${short(v)}) must be a positive integer`);
  const limit = CONFIG_LIMITS[field];
  if (limit !== undefined && v > limit) {
    throw new CheckpointError(`config.json: ${field} (${fmtInt(v)}) is above the limit of ${fmtInt(limit)} that the workbench accepts (no real checkpoint comes near it); ${FIX}`, { field, value: v, limit });
  }
  return v;
}

/** A JSON value for a message, cut past a few hundred characters. */
function short(v: unknown): string {
  let t: string;
  try {
    t = JSON.stringify(v) ?? String(v);
  } catch {
    t = String(v);
  }
  return t.length > 200 ? `${t.slice(0, 200)}… (${t.length} characters)` : t;
}

function posNum(raw: Raw, field: string, fallback: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad(field, `(${short(v)}) must be a positive number`);
  return v;
}

function bool(raw: Raw, field: string, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'boolean') throw bad(field, `(${short(v)}) must be true or false`);
  return v;
}

function divisible(aField: string, a: number, bField: string, b: number): void {
  if (a % b !== 0) throw bad(aField, `(${a}) must be divisible by ${bField} (${b})`);
}

function tokenIds(v: unknown, field: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_TOKEN_ID_LIST) throw bad(field, `lists ${fmtInt(list.length)} token ids; at most ${MAX_TOKEN_ID_LIST} are accepted; ${FIX}`);
  for (const id of list) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= CONFIG_LIMITS.vocab_size) throw bad(field, `(${short(v)}) must be a token id or a list of them`);
  }
  return list as number[];
}

/** transformers 5 moved rope_theta (and the scaling type) into rope_parameters. */
function ropeOf(raw: Raw, defaultTheta: number): number {
  const params = (raw.rope_parameters ?? null) as Raw | null;
  const scaling = (raw.rope_scaling ?? null) as Raw | null;
  for (const [field, obj] of [['rope_parameters', params], ['rope_scaling', scaling]] as const) {
    if (obj === null) continue;
    if (typeof obj !== 'object') throw bad(field, 'must be an object or null');
    const type = obj.rope_type ?? obj.type ?? 'default';
    if (type !== 'default') {
      throw bad(`${field}.rope_type`, `(${short(type)}) is not supported; only plain RoPE (rope_type "default" or no rope_scaling) is implemented`);
    }
  }
  if (params && params.rope_theta !== undefined) return posNum(params, 'rope_theta', defaultTheta);
  return posNum(raw, 'rope_theta', defaultTheta);
}

function dtypeOf(raw: Raw): ConfigDtype {
  const v = raw.dtype ?? raw.torch_dtype ?? 'float32';
  if (v === 'float32' || v === 'float16' || v === 'bfloat16') return v;
  throw bad(raw.dtype !== undefined ? 'dtype' : 'torch_dtype', `(${short(v)}) must be float32, float16 or bfloat16`);
}

function mlpOf(raw: Raw, allowed: MlpKind[]): { hiddenAct: string; mlp: MlpKind } {
  const act = raw.hidden_act ?? 'silu';
  const mlp: MlpKind | null = act === 'silu' || act === 'swish' ? 'swiglu' : act === 'relu2' ? 'relu2' : null;
  if (mlp === null || !allowed.includes(mlp)) {
    const names = allowed.map((m) => (m === 'swiglu' ? '"silu"' : '"relu2"')).join(' or ');
    throw bad('hidden_act', `(${short(act)}) is not supported for this architecture; it must be ${names}`);
  }
  return { hiddenAct: act as string, mlp };
}

function common(raw: Raw, architecture: string, tieDefault: boolean, allowedMlp: MlpKind[], thetaDefault: number): CommonConfig {
  return {
    architecture,
    modelType: typeof raw.model_type === 'string' ? raw.model_type : '',
    vocabSize: posInt(raw, 'vocab_size'),
    hiddenSize: posInt(raw, 'hidden_size'),
    intermediateSize: posInt(raw, 'intermediate_size'),
    numLayers: posInt(raw, 'num_hidden_layers'),
    numHeads: posInt(raw, 'num_attention_heads'),
    rmsNormEps: posNum(raw, 'rms_norm_eps', 1e-6),
    ropeTheta: ropeOf(raw, thetaDefault),
    maxPositions: posInt(raw, 'max_position_embeddings', 2048),
    tieWordEmbeddings: bool(raw, 'tie_word_embeddings', tieDefault),
    dtype: dtypeOf(raw),
    ...mlpOf(raw, allowedMlp),
    mlpBias: bool(raw, 'mlp_bias', false),
    bosTokenId: tokenIds(raw.bos_token_id, 'bos_token_id')[0] ?? null,
    eosTokenIds: tokenIds(raw.eos_token_id, 'eos_token_id'),
  };
}

function llama(raw: Raw, arch: string): LlamaConfig {
  const qwen = arch === 'Qwen2ForCausalLM';
  if (qwen && raw.use_sliding_window === true) {
    throw bad('use_sliding_window', '(true) is not supported; only full causal attention is implemented');
  }
  const c = common(raw, arch, false, ['swiglu'], 10000);
  const numKvHeads = posInt(raw, 'num_key_value_heads', c.numHeads);
  divisible('num_attention_heads', c.numHeads, 'num_key_value_heads', numKvHeads);
  if (raw.head_dim === undefined || raw.head_dim === null) divisible('hidden_size', c.hiddenSize, 'num_attention_heads', c.numHeads);
  const headDim = posInt(raw, 'head_dim', c.hiddenSize / c.numHeads);
  if (headDim % 2 !== 0) throw bad('head_dim', `(${headDim}) must be even for RoPE`);
  const attnBias = bool(raw, 'attention_bias', false);
  return { ...c, family: 'llama', numKvHeads, headDim, qkvBias: qwen || attnBias, oBias: !qwen && attnBias };
}

function mla(raw: Raw, arch: string): MlaConfig {
  const plm = arch === 'PLMForCausalLM';
  if (!plm) {
    // DeepSeek-V2 is supported only where every layer's MLP is dense (no routed experts).
    const experts = raw.n_routed_experts;
    const firstDense = typeof raw.first_k_dense_replace === 'number' ? raw.first_k_dense_replace : 0;
    const layers = posInt(raw, 'num_hidden_layers');
    if (typeof experts === 'number' && experts > 0 && firstDense < layers) {
      throw bad('n_routed_experts', `(${experts}) means mixture-of-experts layers, which are not supported; only dense DeepSeek-V2 configs (n_routed_experts null or first_k_dense_replace ≥ num_hidden_layers) load`);
    }
  }
  const c = common(raw, arch, plm, plm ? ['relu2', 'swiglu'] : ['swiglu'], 10000);
  const qLora = raw.q_lora_rank === undefined || raw.q_lora_rank === null ? null : posInt(raw, 'q_lora_rank');
  const qkRopeHeadDim = posInt(raw, 'qk_rope_head_dim');
  if (qkRopeHeadDim % 2 !== 0) throw bad('qk_rope_head_dim', `(${qkRopeHeadDim}) must be even for RoPE`);
  if (raw.num_key_value_heads !== undefined && raw.num_key_value_heads !== null && raw.num_key_value_heads !== c.numHeads) {
    throw bad('num_key_value_heads', `(${short(raw.num_key_value_heads)}) must equal num_attention_heads (${c.numHeads}) for MLA`);
  }
  return {
    ...c,
    family: 'mla',
    qLoraRank: qLora,
    kvLoraRank: posInt(raw, 'kv_lora_rank'),
    qkNopeHeadDim: posInt(raw, 'qk_nope_head_dim'),
    qkRopeHeadDim,
    vHeadDim: posInt(raw, 'v_head_dim'),
    attentionBias: bool(raw, 'attention_bias', false),
  };
}

function gta(raw: Raw, arch: string): GtaConfig {
  const c = common(raw, arch, false, ['swiglu'], 10000);
  const numQueryHeads = posInt(raw, 'num_query_heads');
  const numKeyHeads = posInt(raw, 'num_key_heads');
  const numValueHeads = posInt(raw, 'num_value_heads');
  const queryDim = posInt(raw, 'query_dim');
  const keyDim = posInt(raw, 'key_dim');
  const valueDim = posInt(raw, 'value_dim');
  if (raw.head_dim === undefined || raw.head_dim === null) divisible('hidden_size', c.hiddenSize, 'num_attention_heads', c.numHeads);
  const headDim = posInt(raw, 'head_dim', c.hiddenSize / c.numHeads);
  divisible('num_attention_heads', c.numHeads, 'num_query_heads', numQueryHeads);
  divisible('num_query_heads', numQueryHeads, 'num_key_heads', numKeyHeads);
  divisible('num_query_heads', numQueryHeads, 'num_value_heads', numValueHeads);
  if (queryDim !== keyDim) throw bad('query_dim', `(${queryDim}) must equal key_dim (${keyDim}): queries and keys meet in a dot product`);
  if (queryDim % 2 !== 0) throw bad('query_dim', `(${queryDim}) must be even for RoPE`);
  if (c.numHeads * headDim !== c.hiddenSize) {
    throw bad('hidden_size', `(${c.hiddenSize}) must equal num_attention_heads × head_dim (${c.numHeads * headDim}): o_proj reads the gated hidden-wide output`);
  }
  divisible('hidden_size', c.hiddenSize, 'num_query_heads × value_dim', numQueryHeads * valueDim);
  return {
    ...c,
    family: 'gta',
    headDim,
    numQueryHeads,
    queryDim,
    numKeyHeads,
    keyDim,
    numValueHeads,
    valueDim,
    valueExpand: c.hiddenSize / (numQueryHeads * valueDim),
  };
}

/** Which family a raw config belongs to, or a CheckpointError listing what is supported. */
export function detectArchitecture(raw: Raw): { architecture: string; family: Family } {
  const archs = raw.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : '';
  // GTA checkpoints say model_type "llama"; the six GTA fields are what identifies them.
  if (arch === 'GTAForCausalLM' || GTA_FIELDS.every((f) => f in raw)) return { architecture: arch || 'GTAForCausalLM', family: 'gta' };
  if (arch === 'PLMForCausalLM' || (arch === '' && raw.model_type === 'plm')) return { architecture: 'PLMForCausalLM', family: 'mla' };
  if (arch === 'DeepseekV2ForCausalLM' || (arch === '' && raw.model_type === 'deepseek_v2')) return { architecture: 'DeepseekV2ForCausalLM', family: 'mla' };
  if (arch === 'LlamaForCausalLM' || arch === 'Qwen2ForCausalLM') return { architecture: arch, family: 'llama' };
  if (arch === '' && (raw.model_type === 'llama' || raw.model_type === 'qwen2')) {
    return { architecture: raw.model_type === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM', family: 'llama' };
  }
  const what = arch ? `architecture ${short(arch)}` : `a config without architectures (model_type ${short(raw.model_type ?? '')})`;
  throw new CheckpointError(`config.json describes ${what}, which is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`, {
    field: 'architectures',
  });
}

/** Parse and validate a config.json object. Throws CheckpointError naming the first bad field. */
export function normalizeConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError('config.json must hold a JSON object');
  const r = raw as Raw;
  const { architecture, family } = detectArchitecture(r);
  if (family === 'gta') return gta(r, architecture);
  if (family === 'mla') return mla(r, architecture);
  return llama(r, architecture);
}

/** A short name for the attention variant: MHA, GQA, MQA, MLA or GTA. */
export function variantOf(c: ModelConfig): 'MHA' | 'GQA' | 'MQA' | 'MLA' | 'GTA' {
  if (c.family === 'gta') return 'GTA';
  if (c.family === 'mla') return 'MLA';
  if (c.numKvHeads === c.numHeads) return 'MHA';
  return c.numKvHeads === 1 ? 'MQA' : 'GQA';
}
