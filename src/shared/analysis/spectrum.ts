// Spectra for KV compressibility: how many directions hold the energy of a cached K / V / latent matrix.
// symmetricEigenvalues: Householder reduction to tridiagonal form (≈ 4n³/3 flops, on the lower
// triangle), then the implicit QL algorithm with Wilkinson shifts (O(n²)). Measured on the 2-core dev
// machine: n = 512 ≈ 0.15 s, n = 1024 ≈ 0.9 s, n = 2048 ≈ 7 s.
// Singular values come from the eigenvalues of the Gram matrix of the smaller side (float64
// accumulation): σ = sqrt(max(0, λ)). Squaring the matrix limits the accuracy of the smallest σ to about
// sqrt(ε)·σ_max ≈ 1e-8·σ_max, far below what energy ranks look at.

function checkN(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} (${v}) must be an integer ≥ 1`);
}

/**
 * All eigenvalues of the symmetric n×n matrix a (row-major; a is not modified), descending.
 * SELF-CONTAINED on purpose: the body references nothing outside itself (no imports, no module-level
 * constants or helpers; only globals such as Math, Number, Float64Array, RangeError), because
 * services/analysis/eigen-pool.ts runs `fn.toString()` of it in eval'd worker threads (one solver, no
 * copy). Keep it that way: a test evaluates its source in an empty scope and bundles it with esbuild.
 */
export function symmetricEigenvaluesSelfContained(a: Float64Array, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n (${n}) must be an integer ≥ 1`);
  if (a.length !== n * n) throw new RangeError(`a has ${a.length} values; expected n·n = ${n * n}`);

  /** sqrt(a² + b²) without overflow or destructive underflow (faster than Math.hypot in V8). */
  function pythag(a: number, b: number): number {
    const x = Math.abs(a);
    const y = Math.abs(b);
    if (x > y) {
      const r = y / x;
      return x * Math.sqrt(1 + r * r);
    }
    if (y === 0) return 0;
    const r = x / y;
    return y * Math.sqrt(1 + r * r);
  }

  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = 0.5 * (a[i * n + j] + a[j * n + i]);
      if (!Number.isFinite(v)) throw new RangeError(`a[${i}·n + ${j}] must be finite`);
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  }

  // Householder tridiagonalisation of w (its lower triangle is read and overwritten) into the diagonal
  // d[0..n) and sub-diagonal e[0..n−1) (e[n−1] = 0). Step k reflects column k below the diagonal onto
  // its first entry: H = I − β·v·vᵀ, and updates the trailing block S ← H·S·H as S − v·wᵀ − w·vᵀ with
  // p = β·S·v, w = p − (β·vᵀp/2)·v.
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  {
    const v = new Float64Array(n);
    const p = new Float64Array(n);
    for (let k = 0; k < n - 2; k++) {
      const lo = k + 1; // the trailing block is rows/cols lo .. n−1
      let scale = 0;
      for (let i = lo; i < n; i++) scale = Math.max(scale, Math.abs(w[i * n + k]));
      d[k] = w[k * n + k];
      if (scale === 0) {
        e[k] = 0;
        continue;
      }
      let norm2 = 0;
      for (let i = lo; i < n; i++) {
        const x = w[i * n + k] / scale;
        v[i] = x;
        norm2 += x * x;
      }
      const x0 = v[lo];
      const alpha = (x0 >= 0 ? -1 : 1) * Math.sqrt(norm2); // reflect onto −sign(x0)·‖x‖ (no cancellation)
      v[lo] = x0 - alpha;
      const vv = norm2 - x0 * x0 + v[lo] * v[lo];
      e[k] = alpha * scale;
      if (vv === 0) continue;
      const beta = 2 / vv;
      // p = β·S·v, reading S's lower triangle row by row (each entry serves S[i][j] and S[j][i]).
      for (let i = lo; i < n; i++) p[i] = 0;
      for (let i = lo; i < n; i++) {
        const row = i * n;
        const vi = v[i];
        let s = 0;
        for (let j = lo; j < i; j++) {
          const a = w[row + j];
          s += a * v[j];
          p[j] += a * vi;
        }
        p[i] += s + w[row + i] * vi;
      }
      let vp = 0;
      for (let i = lo; i < n; i++) {
        p[i] *= beta;
        vp += v[i] * p[i];
      }
      const kk = 0.5 * beta * vp;
      for (let i = lo; i < n; i++) p[i] -= kk * v[i]; // p now holds w
      // Lower triangle only.
      for (let i = lo; i < n; i++) {
        const row = i * n;
        const vi = v[i];
        const pi = p[i];
        for (let j = lo; j <= i; j++) w[row + j] -= vi * p[j] + pi * v[j];
      }
    }
    if (n >= 2) {
      d[n - 2] = w[(n - 2) * n + n - 2];
      e[n - 2] = w[(n - 1) * n + n - 2];
    }
    d[n - 1] = w[(n - 1) * n + n - 1];
    e[n - 1] = 0;
  }

  // Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL with Wilkinson shifts; d is
  // overwritten with them (unsorted).
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      // Find the first negligible sub-diagonal element at or after l.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new RangeError('symmetricEigenvalues: the QL iteration did not converge (non-finite input?)');
      // Shift from the leading 2×2 block, then chase the bulge from m−1 up to l with Givens rotations.
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = pythag(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = pythag(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: the matrix splits here; undo the last shift and restart the sweep.
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort().reverse();
}

/**
 * All eigenvalues of the symmetric n×n matrix a (row-major; a is not modified), descending.
 * For many matrices at once off the event loop, see services/analysis/eigen-pool.ts (main process).
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  return symmetricEigenvaluesSelfContained(a, n);
}

/** Singular values (descending) from an n×n Gram matrix XᵀX or XXᵀ: sqrt(max(0, λ)). */
export function gramSingularValues(gram: Float64Array, n: number): number[] {
  const lambda = symmetricEigenvalues(gram, n);
  return Array.from(lambda, (l) => Math.sqrt(Math.max(0, l)));
}

/** Singular values of the rows×cols matrix x (row-major), descending, min(rows, cols) of them. */
export function singularValues(x: ArrayLike<number>, rows: number, cols: number): number[] {
  checkN('rows', rows);
  checkN('cols', cols);
  if (x.length !== rows * cols) throw new RangeError(`x has ${x.length} values; expected rows·cols = ${rows * cols}`);
  if (rows >= cols) {
    // XᵀX (cols×cols): accumulate the outer product of each row, upper triangle.
    const g = new Float64Array(cols * cols);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      for (let a = 0; a < cols; a++) {
        const xa = x[off + a];
        if (xa === 0) continue;
        const ga = a * cols;
        for (let b = a; b < cols; b++) g[ga + b] += xa * x[off + b];
      }
    }
    for (let a = 0; a < cols; a++) for (let b = a + 1; b < cols; b++) g[b * cols + a] = g[a * cols + b];
    return gramSingularValues(g, cols);
  }
  // XXᵀ (rows×rows): dot products of rows.
  const g = new Float64Array(rows * rows);
  for (let a = 0; a < rows; a++) {
    for (let b = a; b < rows; b++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += x[a * cols + k] * x[b * cols + k];
      g[a * rows + b] = s;
      g[b * rows + a] = s;
    }
  }
  return gramSingularValues(g, rows);
}

/** Smallest r with Σ_{k<r} σ_k² ≥ fraction·Σ σ² (σ in the given order, normally descending); 0 for an all-zero spectrum. */
export function energyRank(singular: ArrayLike<number>, fraction: number): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new RangeError(`fraction (${fraction}) must be in [0, 1]`);
  let total = 0;
  for (let k = 0; k < singular.length; k++) total += singular[k] * singular[k];
  if (!(total > 0)) return 0;
  const target = fraction * total;
  let cum = 0;
  for (let r = 0; r < singular.length; r++) {
    if (cum >= target) return r;
    cum += singular[r] * singular[r];
  }
  return singular.length;
}

/** Normalised cumulative energy: out[k] = Σ_{j≤k} σ_j² / Σ σ² (last = 1); all zeros for an all-zero spectrum. */
export function cumulativeEnergy(singular: ArrayLike<number>): number[] {
  let total = 0;
  for (let k = 0; k < singular.length; k++) total += singular[k] * singular[k];
  const out: number[] = [];
  let cum = 0;
  for (let k = 0; k < singular.length; k++) {
    cum += singular[k] * singular[k];
    out.push(total > 0 ? cum / total : 0);
  }
  if (total > 0 && out.length > 0) out[out.length - 1] = 1;
  return out;
}
