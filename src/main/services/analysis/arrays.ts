// Analysis arrays as run artifacts: raw little-endian bytes in the artifact file, their dtype and shape
// in the summary's `arrays` table (and in the artifact's mime type, so a file on its own says what it is).
import type { ArrayPayload, ArrayRef } from '../../../shared/analysis/types';
import { InvalidRequestError } from '../../../shared/errors';
import type { PipelineArray } from './pipeline';

export const ARRAY_MIME = 'application/x-workbench-array';

export function arrayMime(a: { dtype: string; shape: number[] }): string {
  return `${ARRAY_MIME}; dtype=${a.dtype}; shape=${a.shape.join('x')}`;
}

export function arrayBytes(a: PipelineArray): Uint8Array {
  return new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}

const ELEM_BYTES = { f32: 4, f16: 2, u32: 4 } as const;

/**
 * The bytes of `ref` (stored in `data`), sliced on its leading axes by `index` (e.g. [layer] of
 * [L, maps, S, S] → [maps, S, S]), as an API payload.
 */
export function slicePayload(ref: ArrayRef, data: Uint8Array, index: number[] = []): ArrayPayload {
  if (index.length > ref.shape.length) throw new InvalidRequestError(`"${ref.name}" has ${ref.shape.length} axes; an index of ${index.length} entries is too long`);
  let offset = 0;
  let stride = ref.shape.reduce((a, b) => a * b, 1);
  index.forEach((i, k) => {
    const n = ref.shape[k];
    if (i >= n) throw new InvalidRequestError(`index ${i} on axis ${k} of "${ref.name}" is out of range: that axis has ${n} entries (0 to ${n - 1})`);
    stride /= n;
    offset += i * stride;
  });
  const e = ELEM_BYTES[ref.dtype];
  const bytes = data.subarray(offset * e, (offset + stride) * e);
  return { dtype: ref.dtype, shape: ref.shape.slice(index.length), base64: Buffer.from(bytes).toString('base64') };
}
