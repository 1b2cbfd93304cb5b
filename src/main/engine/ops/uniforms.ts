// Typed uniform structs and dispatch-shape helpers shared by the non-attention op descriptors.
// Every kernel's Params struct has only 4-byte scalar fields, so WGSL lays them out in declaration
// order with no padding except the struct's 16-byte tail.
import { WorkbenchError } from '../../../shared/errors';
import type { GpuRuntime } from '../gpu/runtime';

export type FieldType = 'u32' | 'i32' | 'f32';

/**
 * A packer for one kernel's uniform struct. `layout` lists the fields in the WGSL struct's order;
 * the packer then only accepts exactly those fields, so a TS call and its kernel cannot drift apart.
 */
export function uniformStruct<K extends string>(layout: Record<K, FieldType>): (values: Record<K, number>) => ArrayBuffer {
  const names = Object.keys(layout) as K[];
  const types = names.map((n) => layout[n]);
  const size = Math.max(16, Math.ceil(names.length / 4) * 16);
  // Runs for every dispatch of every decode step: a plain indexed loop, no closure per field.
  return (values) => {
    const buf = new ArrayBuffer(size);
    const dv = new DataView(buf);
    for (let i = 0; i < names.length; i++) {
      const v = values[names[i]];
      const type = types[i];
      if (type === 'f32') dv.setFloat32(i * 4, v, true);
      else if (type === 'i32') dv.setInt32(i * 4, v, true);
      else {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw opError('uniform', `field ${names[i]} = ${v} is not a u32`);
        dv.setUint32(i * 4, v, true);
      }
    }
    return buf;
  };
}

export function opError(op: string, msg: string): WorkbenchError {
  return new WorkbenchError(`${op}: ${msg}. This is a bug in the caller of the kernel (the model's forward pass); report it with the model config.`);
}

export function requirePositiveInts(op: string, fields: Record<string, number>): void {
  for (const [name, v] of Object.entries(fields)) {
    if (!Number.isInteger(v) || v < 1) throw opError(op, `${name} = ${v} must be a positive integer`);
  }
}

// A buffer's size never changes; GPUBuffer.size is a native getter that costs more than a map lookup,
// and every dispatch of every decode step checks a few operands.
const sizes = new WeakMap<GPUBuffer, number>();

/** Checks that a buffer holds at least `bytes`, naming the operand when it does not. */
export function requireBytes(op: string, name: string, buf: GPUBuffer, bytes: number): void {
  let size = sizes.get(buf);
  if (size === undefined) {
    size = buf.size;
    sizes.set(buf, size);
  }
  if (size < bytes) throw opError(op, `${name} holds ${size} bytes but the shape needs ${bytes}`);
}

/** Bytes of `elems` weight elements: packed f16 pairs or one f32 each. */
export function weightBytes(elems: number, wF16: boolean): number {
  return wF16 ? Math.ceil(elems / 2) * 4 : elems * 4;
}

/**
 * A grid for `count` workgroups within the per-dimension limit (65535 on most adapters): kernels
 * linearise it as x + y·num_workgroups.x and skip indices ≥ count.
 */
export function grid2d(rt: GpuRuntime, count: number): [number, number] {
  const max = rt.maxWorkgroups;
  if (count <= max) return [count, 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y];
}

const placeholders = new WeakMap<GpuRuntime, GPUBuffer[]>();

/**
 * A small buffer bound where a variant declares a binding it never touches (no bias, no residual, no
 * probability tap): `layout: 'auto'` keeps every statically used binding, whatever the override
 * constants. A dispatch with several unused bindings passes a different `slot` for each: one buffer
 * bound writable twice, or writable and read-only, fails validation.
 */
export function unusedBinding(rt: GpuRuntime, slot = 0): GPUBuffer {
  let list = placeholders.get(rt);
  if (!list) placeholders.set(rt, (list = []));
  while (list.length <= slot) list.push(rt.buffer(16, `unused-binding-${list.length}`));
  return list[slot];
}
