// Per-op FLOP and byte counters. Every op the forward pass records reports what it does for its shape
// (FLOPs as real multiply-adds ×2; bytes read + written), so a token's work can be read off by op kind
// and by tap name without timing anything. Causal attention counts only the visible half (the keys a
// query actually reads), which is what the kernels do.

export interface OpCount {
  calls: number;
  flops: number;
  bytes: number;
}

export interface CounterSnapshot {
  byOp: Record<string, OpCount>; // by op kind: 'matmul', 'attn_decode', ...
  total: OpCount;
}

export class OpCounters {
  private byOp = new Map<string, OpCount>();

  add(op: string, flops: number, bytes: number): void {
    let c = this.byOp.get(op);
    if (!c) {
      c = { calls: 0, flops: 0, bytes: 0 };
      this.byOp.set(op, c);
    }
    c.calls++;
    c.flops += flops;
    c.bytes += bytes;
  }

  /** `calls` calls of one op at once (a replayed step adds its recorded work). */
  addMany(op: string, calls: number, flops: number, bytes: number): void {
    let c = this.byOp.get(op);
    if (!c) {
      c = { calls: 0, flops: 0, bytes: 0 };
      this.byOp.set(op, c);
    }
    c.calls += calls;
    c.flops += flops;
    c.bytes += bytes;
  }

  reset(): void {
    this.byOp.clear();
  }

  snapshot(): CounterSnapshot {
    const byOp: Record<string, OpCount> = {};
    const total: OpCount = { calls: 0, flops: 0, bytes: 0 };
    for (const [k, v] of [...this.byOp.entries()].sort((a, b) => b[1].bytes - a[1].bytes)) {
      byOp[k] = { ...v };
      total.calls += v.calls;
      total.flops += v.flops;
      total.bytes += v.bytes;
    }
    return { byOp, total };
  }
}

/** a − b, op by op: the work between two snapshots (one token, one prefill). */
export function diffCounters(a: CounterSnapshot, b: CounterSnapshot): CounterSnapshot {
  const byOp: Record<string, OpCount> = {};
  for (const [k, v] of Object.entries(a.byOp)) {
    const o = b.byOp[k] ?? { calls: 0, flops: 0, bytes: 0 };
    if (v.calls > o.calls) byOp[k] = { calls: v.calls - o.calls, flops: v.flops - o.flops, bytes: v.bytes - o.bytes };
  }
  return {
    byOp,
    total: { calls: a.total.calls - b.total.calls, flops: a.total.flops - b.total.flops, bytes: a.total.bytes - b.total.bytes },
  };
}
