// CPU reference for every attention variant (float64 accumulation): the oracle of the GPU kernel tests
// and the building block of the CPU forward passes. Plain loops, written for clarity, not speed.
//
// Layouts (row-major, strides in elements):
//   q     [n, hq, dk]        the n new tokens, at positions pos0 .. pos0+n-1
//   k     [t, hk, dk]        the whole cache including the new tokens, t = pos0 + n
//   v     [t, hk, dv]
//   out   [n, hq, dv]
// Query head h reads kv head floor(h / (hq / hk)) (MHA: hq = hk; GQA/MQA: hq a multiple of hk).

export interface AttentionShape {
  n: number; // new tokens
  t: number; // keys in the cache, = pos0 + n
  hq: number; // query heads (GTA: query groups)
  hk: number; // key/value heads (GTA: key heads; values must then be given per key head, see gtaAttention)
  dk: number;
  dv: number;
  scale: number; // multiplies q·k before the softmax
  pos0: number; // position of the first new token
  /** [hq, n, t]: when given, filled with the softmax probabilities (0 beyond the causal limit). */
  probs?: Float64Array;
}

function checkLen(name: string, arr: ArrayLike<number>, want: number): void {
  if (arr.length < want) throw new RangeError(`${name} has ${arr.length} elements; the shape needs ${want}`);
}

/** Causal attention: query i (position pos0+i) sees keys 0 .. pos0+i. Returns [n, hq, dv]. */
export function attention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, o: AttentionShape): Float64Array {
  return groupedAttention(q, k, v, { ...o, hv: o.hk });
}

/**
 * The general form: keys and values may have different head counts (GTA: n_k key heads, n_c latent
 * groups). Query head h reads key head h / (hq/hk) and value head h / (hq/hv). v is [t, hv, dv].
 */
export function groupedAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  o: AttentionShape & { hv: number },
): Float64Array {
  const { n, t, hq, hk, hv, dk, dv, scale, pos0, probs } = o;
  if (t !== pos0 + n) throw new RangeError(`attention: t (${t}) must equal pos0 + n (${pos0 + n})`);
  if (hq % hk !== 0 || hq % hv !== 0) throw new RangeError(`attention: ${hq} query heads are not a multiple of ${hk} key / ${hv} value heads`);
  checkLen('q', q, n * hq * dk);
  checkLen('k', k, t * hk * dk);
  checkLen('v', v, t * hv * dv);
  if (probs) {
    checkLen('probs', probs, hq * n * t);
    probs.fill(0, 0, hq * n * t);
  }
  const out = new Float64Array(n * hq * dv);
  const s = new Float64Array(t);
  for (let i = 0; i < n; i++) {
    const visible = pos0 + i + 1;
    for (let h = 0; h < hq; h++) {
      const kh = Math.floor(h / (hq / hk));
      const vh = Math.floor(h / (hq / hv));
      const qo = (i * hq + h) * dk;
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        const ko = (j * hk + kh) * dk;
        let dot = 0;
        for (let d = 0; d < dk; d++) dot += q[qo + d] * k[ko + d];
        s[j] = dot * scale;
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j < visible; j++) {
        s[j] = Math.exp(s[j] - max);
        sum += s[j];
      }
      const oo = (i * hq + h) * dv;
      for (let j = 0; j < visible; j++) {
        const p = s[j] / sum;
        if (probs) probs[(h * n + i) * t + j] = p;
        const vo = (j * hv + vh) * dv;
        for (let d = 0; d < dv; d++) out[oo + d] += p * v[vo + d];
      }
    }
  }
  return out;
}

/** MLA dimensions (PLM-1.8B: nh 16, dNope 128, dRope 64, dV 128, dC 512). */
export interface MlaShape {
  n: number; // tokens
  nh: number; // heads
  dNope: number;
  dRope: number;
  dV: number;
  dC: number; // kv_lora_rank
}

/**
 * Keys [t, dk] and values [t, dv] of t cache rows `row` values wide, keys from column 0 and values from
 * column vOff (values that are columns of the key rows: MLA's latent cache read in absorbed form).
 */
export function keysValuesOfRows(rows: ArrayLike<number>, t: number, row: number, dk: number, vOff: number, dv: number): { k: Float32Array; v: Float32Array } {
  const k = new Float32Array(t * dk);
  const v = new Float32Array(t * dv);
  for (let j = 0; j < t; j++) {
    for (let c = 0; c < dk; c++) k[j * dk + c] = rows[j * row + c];
    for (let c = 0; c < dv; c++) v[j * dv + c] = rows[j * row + vOff + c];
  }
  return { k, v };
}

/**
 * Absorbed query: q̃_h = W_UK_hᵀ·q_nope_h, then q_rope_h appended. W_UK_h = rows
 * [h·(dNope+dV), h·(dNope+dV)+dNope) of kv_b_proj [nh·(dNope+dV), dC].
 * q [n, nh, dNope + dRope] (q_proj's per-head [q_nope ‖ q_rope], rope already applied) → [n, nh, dC + dRope].
 */
export function mlaAbsorbQ(q: ArrayLike<number>, wkvb: ArrayLike<number>, o: MlaShape): Float64Array {
  const { n, nh, dNope, dRope, dV, dC } = o;
  const dq = dNope + dRope;
  const dOut = dC + dRope;
  checkLen('q', q, n * nh * dq);
  checkLen('kv_b_proj', wkvb, nh * (dNope + dV) * dC);
  const out = new Float64Array(n * nh * dOut);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nh; h++) {
      const qo = (i * nh + h) * dq;
      const oo = (i * nh + h) * dOut;
      for (let r = 0; r < dNope; r++) {
        const qr = q[qo + r];
        const wo = (h * (dNope + dV) + r) * dC;
        for (let c = 0; c < dC; c++) out[oo + c] += qr * wkvb[wo + c];
      }
      for (let r = 0; r < dRope; r++) out[oo + dC + r] = q[qo + dNope + r];
    }
  }
  return out;
}

/**
 * Value up-projection: o_h = W_UV_h·a_h, W_UV_h = rows [h·(dNope+dV)+dNope, (h+1)·(dNope+dV)) of kv_b_proj.
 * a [n, nh, dC] (attention over the latent) → [n, nh, dV].
 */
export function mlaUpV(a: ArrayLike<number>, wkvb: ArrayLike<number>, o: MlaShape): Float64Array {
  const { n, nh, dNope, dV, dC } = o;
  checkLen('a', a, n * nh * dC);
  checkLen('kv_b_proj', wkvb, nh * (dNope + dV) * dC);
  const out = new Float64Array(n * nh * dV);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nh; h++) {
      const ao = (i * nh + h) * dC;
      for (let r = 0; r < dV; r++) {
        const wo = (h * (dNope + dV) + dNope + r) * dC;
        let acc = 0;
        for (let c = 0; c < dC; c++) acc += wkvb[wo + c] * a[ao + c];
        out[(i * nh + h) * dV + r] = acc;
      }
    }
  }
  return out;
}

/**
 * The expanded (non-absorbed) MLA cache: per head k = [W_UK_h·c ‖ k_rope], v = W_UV_h·c.
 * latent [t, dC + dRope] (normalised c then roped k_rope) → k [t, nh, dNope + dRope], v [t, nh, dV].
 * `n` in the shape is the number of cache rows here.
 */
export function mlaExpandKV(latent: ArrayLike<number>, wkvb: ArrayLike<number>, o: MlaShape): { k: Float64Array; v: Float64Array } {
  const { n: t, nh, dNope, dRope, dV, dC } = o;
  const dl = dC + dRope;
  const dk = dNope + dRope;
  checkLen('latent', latent, t * dl);
  checkLen('kv_b_proj', wkvb, nh * (dNope + dV) * dC);
  const k = new Float64Array(t * nh * dk);
  const v = new Float64Array(t * nh * dV);
  for (let j = 0; j < t; j++) {
    for (let h = 0; h < nh; h++) {
      for (let r = 0; r < dNope + dV; r++) {
        const wo = (h * (dNope + dV) + r) * dC;
        let acc = 0;
        for (let c = 0; c < dC; c++) acc += wkvb[wo + c] * latent[j * dl + c];
        if (r < dNope) k[(j * nh + h) * dk + r] = acc;
        else v[(j * nh + h) * dV + r - dNope] = acc;
      }
      for (let r = 0; r < dRope; r++) k[(j * nh + h) * dk + dNope + r] = latent[j * dl + dC + r];
    }
  }
  return { k, v };
}

/** GTA value-decoder dimensions: H = nq·e·dl. */
export interface GtaDecodeShape {
  n: number; // tokens
  nq: number; // query groups
  dl: number; // latent width (value_dim)
  e: number; // expansion, hidden_size / (nq·dl)
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * GTA value decoder with its gate: out_g = (tile(a_g, e) + a_g·W_vb[g]) ⊙ sigmoid(gate_g), where W_vb is
 * v_b_proj's raw memory ([e·dl, nq·dl] on disk) read row-major as [nq, dl, e·dl] (a reshape, not a
 * transpose; gta.md step 5).
 * a [n, nq, dl] (attended latent per group); gate [n, H] the RAW g_proj output (logits; the sigmoid is
 * applied here, as the fused GPU kernel does) → [n, H].
 */
export function gtaDecodeValues(a: ArrayLike<number>, wvb: ArrayLike<number>, gate: ArrayLike<number>, o: GtaDecodeShape): Float64Array {
  const { n, nq, dl, e } = o;
  const w = e * dl; // width of one group's decoded output
  const H = nq * w;
  checkLen('a', a, n * nq * dl);
  checkLen('v_b_proj', wvb, nq * dl * w);
  checkLen('gate', gate, n * H);
  const out = new Float64Array(n * H);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < nq; g++) {
      const ao = (i * nq + g) * dl;
      for (let c = 0; c < w; c++) {
        let acc = a[ao + (c % dl)];
        for (let r = 0; r < dl; r++) acc += a[ao + r] * wvb[(g * dl + r) * w + c];
        const idx = i * H + g * w + c;
        out[idx] = acc * sigmoid(gate[idx]);
      }
    }
  }
  return out;
}
