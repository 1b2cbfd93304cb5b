// Tiny seeded-random checkpoints in the real HF naming, written from TS: config.json plus a
// model.safetensors (or shards with an index) that tests can also corrupt on purpose.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeConfig } from '../../src/shared/arch/config';
import { weightSpec } from '../../src/shared/arch/spec';
import { f32ToF16 } from '../../src/main/engine/ops/convert';
import { tempDir } from './tmp';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'I8';

export interface RawTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Float32Array; // values; encoded to dtype on write (I8: truncated to integers)
}

/** mulberry32: small, seeded, good enough for test weights. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

function encode(t: RawTensor): Buffer {
  const n = t.data.length;
  if (t.dtype === 'F32') return Buffer.from(new Float32Array(t.data).buffer);
  if (t.dtype === 'I8') return Buffer.from(Int8Array.from(t.data, (v) => Math.trunc(v)).buffer);
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    if (t.dtype === 'F16') out[i] = f32ToF16(t.data[i]);
    else {
      f[0] = t.data[i];
      out[i] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16; // bf16, round to nearest even
    }
  }
  return Buffer.from(out.buffer);
}

/** The bytes of a safetensors file holding `tensors` in order. */
export function safetensorsBytes(tensors: RawTensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const blobs: Buffer[] = [];
  let off = 0;
  for (const t of tensors) {
    const b = encode(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // the format pads the header to 8 bytes
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...blobs]);
}

export interface TinyOptions {
  seed?: number;
  dtype?: Dtype;
  /** Split the tensors over this many shards with a model.safetensors.index.json. */
  shards?: number;
  /** Change the tensor list before writing (drop, reshape, poison, add extras). */
  edit?: (tensors: RawTensor[]) => RawTensor[];
  dir?: string;
}

/**
 * Random weights for every tensor the spec names. Norm weights are near 1 and matrices scaled by
 * 1/sqrt(fan_in), so activations stay O(1) through a few layers and logits are well spread.
 */
export function randomTensors(raw: Record<string, unknown>, seed: number, dtype: Dtype = 'F32'): RawTensor[] {
  const cfg = normalizeConfig(raw);
  const rand = rng(seed);
  return weightSpec(cfg).filter((s) => s.required).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const isNorm = s.shape.length === 1 && /norm|layernorm/.test(s.name);
    const data = isNorm
      ? Float32Array.from(randomArray(n, rand, 0.2), (v) => 1 + v)
      : randomArray(n, rand, s.shape.length === 2 ? 1.5 / Math.sqrt(s.shape[1]) : 0.1);
    return { name: s.name, dtype, shape: s.shape, data };
  });
}

/**
 * Write config.json and the weights into a fresh temporary folder (removed when the test file ends) or
 * into opts.dir; return the folder.
 */
export function writeTinyCheckpoint(raw: Record<string, unknown>, opts: TinyOptions = {}): string {
  const dir = opts.dir ?? tempDir('gta-ckpt-');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  let tensors = randomTensors(raw, opts.seed ?? 1, opts.dtype ?? 'F32');
  if (opts.edit) tensors = opts.edit(tensors);
  const shards = opts.shards ?? 1;
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors, { format: 'pt' }));
    return dir;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(tensors.length / shards);
  for (let s = 0; s < shards; s++) {
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    for (const t of part) weightMap[t.name] = name;
    writeFileSync(join(dir, name), safetensorsBytes(part));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}

// Tiny configs of each family, small enough for the CPU reference to run in milliseconds.
export const TINY_LLAMA = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 61, hidden_size: 32, intermediate_size: 48,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-5,
  rope_theta: 10000, max_position_embeddings: 64, tie_word_embeddings: false, torch_dtype: 'float32', bos_token_id: 1, eos_token_id: 2,
};
export const TINY_QWEN2 = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 53, hidden_size: 24, intermediate_size: 40,
  num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-6,
  rope_theta: 1000000, max_position_embeddings: 64, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_sliding_window: false,
};
export const TINY_PLM = {
  architectures: ['PLMForCausalLM'], model_type: 'plm', vocab_size: 57, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, kv_lora_rank: 16, q_lora_rank: null,
  qk_nope_head_dim: 8, qk_rope_head_dim: 4, v_head_dim: 6, hidden_act: 'relu2', rms_norm_eps: 1e-6,
  tie_word_embeddings: true, rope_theta: 100000, rope_scaling: null, max_position_embeddings: 64, attention_bias: false, torch_dtype: 'bfloat16',
};
export const TINY_DSV2 = {
  architectures: ['DeepseekV2ForCausalLM'], model_type: 'deepseek_v2', vocab_size: 47, hidden_size: 32, intermediate_size: 40,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, kv_lora_rank: 12, q_lora_rank: 20,
  qk_nope_head_dim: 6, qk_rope_head_dim: 4, v_head_dim: 8, hidden_act: 'silu', rms_norm_eps: 1e-6, n_routed_experts: null,
  tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 64, torch_dtype: 'bfloat16',
};
export const TINY_GTA = {
  architectures: ['GTAForCausalLM'], model_type: 'llama', vocab_size: 59, hidden_size: 48, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 6, head_dim: 8, num_query_heads: 3, query_dim: 8, num_key_heads: 1, key_dim: 8,
  num_value_heads: 1, value_dim: 8, hidden_act: 'silu', rms_norm_eps: 1e-5, max_position_embeddings: 64,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 0, eos_token_id: 1,
};

/** An empty temporary folder, removed when the test file ends. */
export function tmpDir(): string {
  return tempDir('gta-test-');
}
