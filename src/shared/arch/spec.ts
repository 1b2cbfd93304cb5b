// Architectures as data: every weight a family expects, by HF name, with the shape the config implies.
// The loader checks a checkpoint against this list before the first upload, and the parameter count
// and the inspect command read it too. Shapes are HF's: linear weights [out, in].
import { fmtInt, type GtaConfig, type LlamaConfig, type MlaConfig, type ModelConfig } from './config';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** false: may be absent (a tied lm_head). If present, its shape is still checked. */
  required: boolean;
  /** Counted in the parameter total (a tied lm_head is the embedding again, so not counted). */
  counted: boolean;
}

/** Layer-templated names, `{L}` standing for the layer index. */
interface Template {
  name: string;
  shape: number[];
  required?: boolean;
  counted?: boolean;
}

const attn = 'model.layers.{L}.self_attn.';
const mlpP = 'model.layers.{L}.mlp.';

function linearT(prefix: string, out: number, inp: number, bias: boolean): Template[] {
  const t: Template[] = [{ name: `${prefix}.weight`, shape: [out, inp] }];
  if (bias) t.push({ name: `${prefix}.bias`, shape: [out] });
  return t;
}

function mlpTemplates(c: ModelConfig): Template[] {
  const { hiddenSize: H, intermediateSize: F, mlpBias: b } = c;
  const up = [...linearT(`${mlpP}up_proj`, F, H, b), ...linearT(`${mlpP}down_proj`, H, F, b)];
  return c.mlp === 'swiglu' ? [...linearT(`${mlpP}gate_proj`, F, H, b), ...up] : up;
}

function llamaAttn(c: LlamaConfig): Template[] {
  const { hiddenSize: H, numHeads: nh, numKvHeads: nk, headDim: d } = c;
  return [
    ...linearT(`${attn}q_proj`, nh * d, H, c.qkvBias),
    ...linearT(`${attn}k_proj`, nk * d, H, c.qkvBias),
    ...linearT(`${attn}v_proj`, nk * d, H, c.qkvBias),
    ...linearT(`${attn}o_proj`, H, nh * d, c.oBias),
  ];
}

function mlaAttn(c: MlaConfig): Template[] {
  const { hiddenSize: H, numHeads: nh, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = c;
  const b = c.attentionBias;
  const q: Template[] =
    c.qLoraRank === null
      ? linearT(`${attn}q_proj`, nh * (dn + dr), H, b)
      : [
          ...linearT(`${attn}q_a_proj`, c.qLoraRank, H, b),
          { name: `${attn}q_a_layernorm.weight`, shape: [c.qLoraRank] },
          ...linearT(`${attn}q_b_proj`, nh * (dn + dr), c.qLoraRank, false),
        ];
  return [
    ...q,
    ...linearT(`${attn}kv_a_proj_with_mqa`, dc + dr, H, b),
    { name: `${attn}kv_a_layernorm.weight`, shape: [dc] },
    ...linearT(`${attn}kv_b_proj`, nh * (dn + dv), dc, false),
    ...linearT(`${attn}o_proj`, H, nh * dv, b),
  ];
}

function gtaAttn(c: GtaConfig): Template[] {
  const { hiddenSize: H, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl, valueExpand: e } = c;
  return [
    ...linearT(`${attn}q_proj`, nq * dq, H, true),
    ...linearT(`${attn}k_proj`, nk * dk, H, true),
    ...linearT(`${attn}v_proj`, nc * dl, H, true),
    ...linearT(`${attn}g_proj`, H, H, true),
    ...linearT(`${attn}v_b_proj`, e * dl, nq * dl, false),
    ...linearT(`${attn}o_proj`, H, c.numHeads * c.headDim, false),
  ];
}

function layerTemplates(c: ModelConfig): Template[] {
  const H = c.hiddenSize;
  const a = c.family === 'llama' ? llamaAttn(c) : c.family === 'mla' ? mlaAttn(c) : gtaAttn(c);
  return [
    { name: 'model.layers.{L}.input_layernorm.weight', shape: [H] },
    ...a,
    { name: 'model.layers.{L}.post_attention_layernorm.weight', shape: [H] },
    ...mlpTemplates(c),
  ];
}

/** Every tensor the config implies, in load order (embedding, layers, final norm, head). */
export function weightSpec(c: ModelConfig): TensorSpec[] {
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize], required: true, counted: true }];
  const layer = layerTemplates(c);
  for (let L = 0; L < c.numLayers; L++) {
    for (const t of layer) {
      out.push({ name: t.name.replace('{L}', String(L)), shape: t.shape, required: t.required ?? true, counted: t.counted ?? true });
    }
  }
  out.push({ name: 'model.norm.weight', shape: [c.hiddenSize], required: true, counted: true });
  out.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize], required: !c.tieWordEmbeddings, counted: !c.tieWordEmbeddings });
  return out;
}

/** Names the loader skips without a word: buffers that older exports saved beside the weights. */
export function isIgnoredTensor(name: string): boolean {
  return /(^|\.)rotary_emb\.inv_freq$/.test(name);
}

export interface SpecCheck {
  ok: boolean;
  /** Human-readable problems, first one first; each names the tensor. */
  errors: string[];
  /** Tensors the spec does not know (extra heads, optimiser leftovers): loaded nowhere, reported. */
  warnings: string[];
  missing: string[];
  mismatched: { name: string; shape: number[]; expected: number[] }[];
  unexpected: string[];
}

const fmt = (s: number[]): string => `[${s.join(', ')}]`;

/** Compare the checkpoint's tensor names and shapes with the spec. */
export function checkSpec(spec: TensorSpec[], present: ReadonlyMap<string, { shape: number[] }>): SpecCheck {
  const errors: string[] = [];
  const missing: string[] = [];
  const mismatched: SpecCheck['mismatched'] = [];
  const known = new Set<string>();
  for (const t of spec) {
    known.add(t.name);
    const got = present.get(t.name);
    if (!got) {
      if (t.required) {
        missing.push(t.name);
        errors.push(`${t.name} is missing; the config implies ${fmt(t.shape)}`);
      }
      continue;
    }
    if (got.shape.length !== t.shape.length || got.shape.some((d, i) => d !== t.shape[i])) {
      mismatched.push({ name: t.name, shape: got.shape, expected: t.shape });
      errors.push(`${t.name} is ${fmt(got.shape)}; the config implies ${fmt(t.shape)}`);
    }
  }
  const unexpected = [...present.keys()].filter((n) => !known.has(n) && !isIgnoredTensor(n));
  const warnings = unexpected.map((n) => `${n} is not used by this architecture and will be ignored`);
  return { ok: errors.length === 0, errors, warnings, missing, mismatched, unexpected };
}

/** Parameters the spec counts (a tied lm_head counted once, as the embedding). */
export function parameterCount(c: ModelConfig): number {
  let n = 0;
  for (const t of weightSpec(c)) if (t.counted) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

export interface ConfigMismatch {
  field: string;
  value: number;
  /** What the file allows: its layer count, or the embedding's dimension. */
  limit: number;
  message: string;
}

/**
 * The config's sizes against the tensors the file actually holds, checked before weightSpec is built
 * (its length is proportional to num_hidden_layers): more layers than the file has, or a vocabulary or
 * hidden size the embedding does not have, is named as a config.json field. Cost: one pass over the names.
 */
export function checkConfigAgainstTensors(c: ModelConfig, present: ReadonlyMap<string, { shape: number[] }>): ConfigMismatch | null {
  const fix = 'use the config.json published with the weights';
  let layers = 0;
  for (const name of present.keys()) {
    const m = /^model\.layers\.(\d{1,9})\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (c.numLayers > layers) {
    const held = layers === 0 ? 'no model.layers.* tensors' : `${fmtInt(layers)} layer${layers > 1 ? 's' : ''} (model.layers.0 to model.layers.${layers - 1})`;
    return {
      field: 'num_hidden_layers',
      value: c.numLayers,
      limit: layers,
      message: `config.json: num_hidden_layers (${fmtInt(c.numLayers)}) does not match the weights: the safetensors files hold ${held}; ${fix}`,
    };
  }
  const embed = present.get('model.embed_tokens.weight');
  if (embed && embed.shape.length === 2) {
    const [v, h] = embed.shape;
    const dims = `model.embed_tokens.weight is [${embed.shape.join(', ')}]`;
    if (c.vocabSize !== v) return { field: 'vocab_size', value: c.vocabSize, limit: v, message: `config.json: vocab_size (${fmtInt(c.vocabSize)}) does not match the weights: ${dims}; ${fix}` };
    if (c.hiddenSize !== h) return { field: 'hidden_size', value: c.hiddenSize, limit: h, message: `config.json: hidden_size (${fmtInt(c.hiddenSize)}) does not match the weights: ${dims}; ${fix}` };
  }
  return null;
}
