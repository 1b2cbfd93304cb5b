// Classical (Torgerson) multidimensional scaling to 2-D.
// B = −½·J·D²·J (J = I − 11ᵀ/n, D² the element-wise squared distances); the embedding's axes are B's
// two largest eigenvectors scaled by sqrt(max(0, eigenvalue)), eigenvalues ≤ 1e-12·‖B‖_F counting as 0.
// Where D is Euclidean in 2-D the pairwise distances of the embedding reproduce D.
//
// Eigenpairs: a block Krylov subspace (block Lanczos with full re-orthogonalisation) of block width 3,
// grown from fixed pseudo-random start vectors, with Rayleigh–Ritz on the projected matrix (cyclic
// Jacobi). Width 3 resolves a doubly repeated top eigenvalue (e.g. points on a regular polygon), which a
// single-vector Krylov method cannot. The basis grows until both top Ritz pairs have a residual
// ‖B·y − θ·y‖ ≤ 1e-10·‖B‖_F, or it spans the whole space (n ≤ 72: exact), or it reaches 72 vectors (then
// the best approximation is returned: only for spectra without a clear top pair, e.g. noise).
// Cost: ≈ 10 ms per block of 3 products at n = 2000. Deterministic; each axis is sign-normalised so that
// its largest-|.| component (the first one on ties) is positive.

const BLOCK = 3;
const MAX_BASIS = 72;
const TOL = 1e-10;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Eigen-decomposition of a small symmetric m×m matrix (row-major, destroyed) by cyclic Jacobi; vectors as columns of v. */
function jacobiEigen(a: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  let norm2 = 0;
  for (let i = 0; i < m * m; i++) norm2 += a[i] * a[i];
  const negligible = 1e-17 * Math.sqrt(norm2); // off-diagonal entries this small are dropped
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (Math.abs(apq) <= negligible) {
          a[p * m + q] = 0;
          a[q * m + p] = 0;
          continue;
        }
        rotated = true;
        const app = a[p * m + p];
        const aqq = a[q * m + q];
        // Rotation angle that zeroes a[p][q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p];
          const akq = a[k * m + q];
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k];
          const aqk = a[q * m + k];
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p];
          const vkq = v[k * m + q];
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
    if (!rotated) break;
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = a[i * m + i];
  return { values, vectors: v };
}

/** Orthogonalise x against the basis twice (classical Gram–Schmidt, repeated); returns its norm before normalising. */
function orthonormalise(x: Float64Array, basis: Float64Array[]): { before: number; after: number } {
  const before = Math.sqrt(dot(x, x));
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(x, q);
      for (let i = 0; i < x.length; i++) x[i] -= c * q[i];
    }
  }
  const after = Math.sqrt(dot(x, x));
  if (after > 0) for (let i = 0; i < x.length; i++) x[i] /= after;
  return { before, after };
}

/** y_k = B·x_k for a block of up to 3 vectors, reading each row of B once. */
function blockMatvec(b: Float64Array, n: number, xs: Float64Array[]): Float64Array[] {
  const zero = new Float64Array(n);
  const x0 = xs[0] ?? zero;
  const x1 = xs[1] ?? zero;
  const x2 = xs[2] ?? zero;
  const y0 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const y2 = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = r * n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let c = 0; c < n; c++) {
      const v = b[row + c];
      s0 += v * x0[c];
      s1 += v * x1[c];
      s2 += v * x2[c];
    }
    y0[r] = s0;
    y1[r] = s1;
    y2[r] = s2;
  }
  return [y0, y1, y2].slice(0, xs.length);
}

/** Classical MDS of an n×n distance matrix (row-major, symmetrised as (d_ij + d_ji)/2) to n 2-D points. */
export function classicalMds(dist: ArrayLike<number>, n: number): [number, number][] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n (${n}) must be an integer ≥ 1`);
  if (dist.length !== n * n) throw new RangeError(`dist has ${dist.length} values; expected n·n = ${n * n}`);
  for (let i = 0; i < n * n; i++) if (!Number.isFinite(dist[i])) throw new RangeError(`dist[${i}] (${dist[i]}) must be finite`);
  if (n === 1) return [[0, 0]];

  // B = −½·J·D²·J, element-wise: −½·(d²_ij − rowMean_i − rowMean_j + grandMean).
  const b = new Float64Array(n * n);
  const rowMean = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = i === j ? 0 : 0.5 * (dist[i * n + j] + dist[j * n + i]);
      const v2 = v * v;
      b[i * n + j] = v2;
      b[j * n + i] = v2;
    }
  }
  let grand = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += b[i * n + j];
    rowMean[i] = s / n;
    grand += s;
  }
  grand /= n * n;
  let frob = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = -0.5 * (b[i * n + j] - rowMean[i] - rowMean[j] + grand);
      b[i * n + j] = v;
      frob += v * v;
    }
  }
  frob = Math.sqrt(frob);
  if (frob === 0) return Array.from({ length: n }, () => [0, 0] as [number, number]);

  const { values, vectors } = topEigenpairs(b, n, frob);
  const axes: Float64Array[] = [];
  for (let k = 0; k < 2; k++) {
    // Eigenvalues at rounding level (≤ 1e-12·‖B‖_F) count as 0, like negative ones.
    const scale = values[k] > 1e-12 * frob ? Math.sqrt(values[k]) : 0;
    const y = vectors[k];
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(y[i]) > Math.abs(y[big])) big = i;
    const sign = y[big] < 0 ? -1 : 1;
    const axis = new Float64Array(n);
    for (let i = 0; i < n; i++) axis[i] = sign * scale * y[i] + 0; // + 0 turns −0 into 0
    axes.push(axis);
  }
  return Array.from({ length: n }, (_, i) => [axes[0][i], axes[1][i]] as [number, number]);
}

/** The two algebraically largest eigenpairs of the symmetric n×n matrix b (n ≥ 2); frob = ‖b‖_F. */
function topEigenpairs(b: Float64Array, n: number, frob: number): { values: number[]; vectors: Float64Array[] } {
  const rand = mulberry32(0x9e3779b9);
  const fresh = (): Float64Array => {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = rand() - 0.5;
    return x;
  };
  const cap = Math.min(n, MAX_BASIS);
  const q: Float64Array[] = []; // orthonormal basis
  const w: Float64Array[] = []; // w[k] = B·q[k]
  // Adds candidate vectors to the basis; a candidate that is (numerically) in the span is replaced by a fresh one.
  const extend = (cands: Float64Array[]): void => {
    const added: Float64Array[] = [];
    for (let x of cands) {
      if (q.length + added.length >= cap) break;
      for (let attempt = 0; attempt < 4; attempt++) {
        const { before, after } = orthonormalise(x, [...q, ...added]);
        if (after > 1e-10 * Math.max(before, 1e-300)) {
          added.push(x);
          break;
        }
        x = fresh();
      }
    }
    const bx = blockMatvec(b, n, added);
    for (let k = 0; k < added.length; k++) {
      q.push(added[k]);
      w.push(bx[k]);
    }
  };
  extend(Array.from({ length: Math.min(BLOCK, n) }, fresh));

  const tAll = new Float64Array(cap * cap);
  let tDone = 0;
  // Rayleigh–Ritz on the current basis: T = Qᵀ·B·Q (symmetrised; entries cached), T = S·Θ·Sᵀ, Ritz vectors Q·s.
  const ritz = (): { values: number[]; vectors: Float64Array[]; converged: boolean } => {
    const m = q.length;
    for (let j = tDone; j < m; j++) {
      for (let i = 0; i <= j; i++) {
        const v = 0.5 * (dot(q[i], w[j]) + dot(q[j], w[i]));
        tAll[i * cap + j] = v;
        tAll[j * cap + i] = v;
      }
    }
    tDone = m;
    const t = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) t[i * m + j] = tAll[i * cap + j];
    const { values, vectors: s } = jacobiEigen(t, m);
    const top = Array.from({ length: m }, (_, i) => i).sort((x, y) => values[y] - values[x] || x - y).slice(0, 2);
    const vectors: Float64Array[] = [];
    let converged = true;
    for (const k of top) {
      const y = new Float64Array(n);
      const by = new Float64Array(n);
      for (let j = 0; j < m; j++) {
        const c = s[j * m + k];
        if (c === 0) continue;
        const qj = q[j];
        const wj = w[j];
        for (let i = 0; i < n; i++) {
          y[i] += c * qj[i];
          by[i] += c * wj[i];
        }
      }
      let r = 0;
      for (let i = 0; i < n; i++) {
        const e = by[i] - values[k] * y[i];
        r += e * e;
      }
      if (Math.sqrt(r) > TOL * frob) converged = false;
      vectors.push(y);
    }
    return { values: top.map((k) => values[k]), vectors, converged };
  };

  // Grow the basis a block at a time; solve the projected problem at geometrically spaced sizes.
  let nextCheck = 2 * BLOCK;
  for (;;) {
    const m = q.length;
    if (m >= cap || m >= nextCheck) {
      const r = ritz();
      if (r.converged || m >= cap) return r;
      nextCheck = Math.max(m + BLOCK, Math.ceil(1.5 * m));
    }
    // Next block: B times the last block, orthogonalised against the basis.
    extend(w.slice(m - Math.min(BLOCK, m)).map((x) => Float64Array.from(x)));
    if (q.length === m) return ritz();
  }
}
