// CPU reference for the elementary ops: plain loops with float64 accumulation. It is the oracle the
// kernel tests compare against and the building block of the CPU forward passes, so clarity wins
// over speed here. Layouts match the GPU kernels: row-major, weights HF-style [out, in].

export type Vec = Float64Array;

/** Gather rows of `table` ([vocab, dim]) for each id: returns [n, dim]. */
export function embedding(ids: number[], table: Float32Array, dim: number): Vec {
  const vocab = table.length / dim;
  const out = new Float64Array(ids.length * dim);
  ids.forEach((id, r) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} outside the vocabulary [0, ${vocab})`);
    for (let j = 0; j < dim; j++) out[r * dim + j] = table[id * dim + j];
  });
  return out;
}

/** out = x · rsqrt(mean(x²) + eps) · w, per row of x ([rows, dim]). */
export function rmsNorm(x: Vec, w: Float32Array, rows: number, dim: number, eps: number): Vec {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[r * dim + j] * x[r * dim + j];
    const scale = 1 / Math.sqrt(ss / dim + eps);
    for (let j = 0; j < dim; j++) out[r * dim + j] = x[r * dim + j] * scale * w[j];
  }
  return out;
}

/** y[rows, out] = x[rows, in] · W[out, in]ᵀ (+ bias[out]). */
export function linear(x: Vec, w: Float32Array, rows: number, inDim: number, outDim: number, bias?: Float32Array): Vec {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let acc = bias ? bias[o] : 0;
      const wRow = o * inDim;
      const xRow = r * inDim;
      for (let i = 0; i < inDim; i++) acc += x[xRow + i] * w[wRow + i];
      y[r * outDim + o] = acc;
    }
  }
  return y;
}

/** The rotation angle of pair `p` (0 ≤ p < rotDim/2) at `pos`: pos · theta^(−2p/rotDim). */
function ropeAngle(pos: number, p: number, rotDim: number, theta: number): number {
  return pos * Math.pow(theta, (-2 * p) / rotDim);
}

function ropeApply(
  x: Vec, rows: number, heads: number, stride: number, offset: number, rotDim: number, positions: number[], theta: number,
  pairIndex: (p: number) => [number, number],
): void {
  if (rotDim % 2 !== 0) throw new RangeError(`RoPE needs an even rotary dimension, got ${rotDim}`);
  if (offset + rotDim > stride) throw new RangeError(`RoPE slice [${offset}, ${offset + rotDim}) exceeds the head stride ${stride}`);
  if (positions.length !== rows) throw new RangeError(`RoPE got ${positions.length} positions for ${rows} rows`);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * stride + offset;
      for (let p = 0; p < rotDim / 2; p++) {
        const a = ropeAngle(positions[r], p, rotDim, theta);
        const c = Math.cos(a);
        const s = Math.sin(a);
        const [i0, i1] = pairIndex(p);
        const x0 = x[base + i0];
        const x1 = x[base + i1];
        x[base + i0] = x0 * c - x1 * s;
        x[base + i1] = x0 * s + x1 * c;
      }
    }
  }
}

/**
 * Llama/NeoX RoPE, in place on x viewed [rows, heads, stride]: rotates dims [offset, offset+rotDim)
 * in pairs (j, j + rotDim/2).
 */
export function ropeRotateHalf(x: Vec, rows: number, heads: number, stride: number, offset: number, rotDim: number, positions: number[], theta: number): void {
  ropeApply(x, rows, heads, stride, offset, rotDim, positions, theta, (p) => [p, p + rotDim / 2]);
}

/** GPT-J RoPE: as ropeRotateHalf but the pairs are adjacent, (2i, 2i+1). */
export function ropeInterleaved(x: Vec, rows: number, heads: number, stride: number, offset: number, rotDim: number, positions: number[], theta: number): void {
  ropeApply(x, rows, heads, stride, offset, rotDim, positions, theta, (p) => [2 * p, 2 * p + 1]);
}

/** x · sigmoid(x), elementwise. */
export function silu(x: Vec): Vec {
  return x.map((v) => v / (1 + Math.exp(-v)));
}

/** max(x, 0)², elementwise. */
export function relu2(x: Vec): Vec {
  return x.map((v) => (v > 0 ? v * v : 0));
}

export function sigmoid(x: Vec): Vec {
  return x.map((v) => 1 / (1 + Math.exp(-v)));
}

function sameLength(a: Vec, b: Vec, op: string): void {
  if (a.length !== b.length) throw new RangeError(`${op}: operands have ${a.length} and ${b.length} elements`);
}

export function mul(a: Vec, b: Vec): Vec {
  sameLength(a, b, 'mul');
  return a.map((v, i) => v * b[i]);
}

export function add(a: Vec, b: Vec): Vec {
  sameLength(a, b, 'add');
  return a.map((v, i) => v + b[i]);
}

/** Numerically stable softmax of x[offset, offset+len), in place. */
export function softmaxRow(x: Vec, offset: number, len: number): void {
  let max = -Infinity;
  for (let i = 0; i < len; i++) max = Math.max(max, x[offset + i]);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    const e = Math.exp(x[offset + i] - max);
    x[offset + i] = e;
    sum += e;
  }
  for (let i = 0; i < len; i++) x[offset + i] /= sum;
}
