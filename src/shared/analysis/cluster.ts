// Agglomerative clustering with average linkage (UPGMA) and the dendrogram's leaf order.
// Output follows scipy.cluster.hierarchy.linkage(method='average'): leaves are ids 0 … n−1, merge i
// creates cluster n + i, each merge lists its two cluster ids with a < b, the height (the average
// distance between the two clusters' leaves) and the number of leaves under it; merges ascend in height.
//
// Algorithm: the nearest-neighbour chain (O(n²) time and memory whatever the input, ties included),
// made to give scipy's own result, ties and all:
//  - the chain starts at the lowest active slot; a cluster's nearest neighbour is the lowest slot at the
//    smallest distance, except that the chain's previous element is preferred on a tie (so the chain
//    ends in a reciprocal pair);
//  - merging slots x < y keeps the new cluster in slot y, with the Lance–Williams average update
//    d(k, x∪y) = (|x|·d(k,x) + |y|·d(k,y)) / (|x| + |y|);
//  - the merges are then sorted by height (stable), and relabelled in that order with a union–find, so
//    merge i creates id n + i and lists its children as (smaller id, larger id).
// Average linkage is reducible, so this gives the same tree as always merging the globally closest pair.
import type { Merge } from './types';

/** Average-linkage clustering of an n×n symmetric distance matrix (row-major; only the upper triangle is read). */
export function averageLinkage(dist: ArrayLike<number>, n: number): { merges: Merge[]; order: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n (${n}) must be an integer ≥ 1`);
  if (dist.length !== n * n) throw new RangeError(`dist has ${dist.length} values; expected n·n = ${n * n}`);
  if (n === 1) return { merges: [], order: [0] };

  // Working copy, symmetrised from the upper triangle. Slot s holds one active cluster while size[s] > 0.
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = dist[i * n + j];
      if (!Number.isFinite(v)) throw new RangeError(`dist[${i}·n + ${j}] (${v}) must be finite`);
      d[i * n + j] = v;
      d[j * n + i] = v;
    }
  }
  const size = new Int32Array(n).fill(1);
  const chain = new Int32Array(n);
  let len = 0;
  const raw: { x: number; y: number; height: number }[] = []; // slot pairs in chain order

  for (let k = 0; k < n - 1; k++) {
    if (len === 0) {
      let first = 0;
      while (size[first] === 0) first++;
      chain[len++] = first;
    }
    let x: number;
    let y: number;
    let height: number;
    // Follow nearest neighbours until two clusters are each other's nearest.
    for (;;) {
      x = chain[len - 1];
      y = len > 1 ? chain[len - 2] : -1;
      height = len > 1 ? d[x * n + y] : Infinity;
      const row = x * n;
      for (let i = 0; i < n; i++) {
        if (size[i] === 0 || i === x) continue;
        const v = d[row + i];
        if (v < height) {
          height = v;
          y = i;
        }
      }
      if (len > 1 && y === chain[len - 2]) break;
      chain[len++] = y;
    }
    len -= 2;
    if (x > y) [x, y] = [y, x];
    raw.push({ x, y, height });
    const nx = size[x];
    const ny = size[y];
    size[x] = 0;
    size[y] = nx + ny;
    for (let i = 0; i < n; i++) {
      if (size[i] === 0 || i === y) continue;
      const v = (nx * d[i * n + x] + ny * d[i * n + y]) / (nx + ny);
      d[i * n + y] = v;
      d[y * n + i] = v;
    }
  }

  // Stable sort by height, then relabel: a merge's children are the current roots of its two slots' leaves.
  const sorted = raw.map((m, i) => ({ m, i })).sort((p, q) => p.m.height - q.m.height || p.i - q.i).map((e) => e.m);
  const parent = new Int32Array(2 * n - 1);
  const leaves = new Int32Array(2 * n - 1).fill(1);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (v: number): number => {
    let r = v;
    while (parent[r] !== r) r = parent[r];
    while (parent[v] !== r) {
      const next = parent[v];
      parent[v] = r;
      v = next;
    }
    return r;
  };
  const merges: Merge[] = sorted.map((m, i) => {
    const rx = find(m.x);
    const ry = find(m.y);
    const id = n + i;
    parent[rx] = id;
    parent[ry] = id;
    leaves[id] = leaves[rx] + leaves[ry];
    return { a: Math.min(rx, ry), b: Math.max(rx, ry), height: m.height, size: leaves[id] };
  });
  return { merges, order: leafOrder(merges, n) };
}

/** Left-to-right leaves of the dendrogram (scipy's leaves_list): from the root, child a goes left of child b. */
export function leafOrder(merges: readonly Merge[], n: number): number[] {
  if (n === 1) return [0];
  const order: number[] = [];
  const stack: number[] = [n + merges.length - 1];
  while (stack.length > 0) {
    const c = stack.pop() as number;
    if (c < n) {
      order.push(c);
      continue;
    }
    const m = merges[c - n];
    stack.push(m.b, m.a); // a is visited first
  }
  return order;
}
