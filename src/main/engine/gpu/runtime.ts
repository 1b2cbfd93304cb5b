// The WebGPU runtime every op and architecture uses: buffers, a pipeline cache keyed by kernel variant,
// uniforms from a ring, and command batching (many dispatches in one compute pass, one submit).
//
// Habits: the runtime never creates its own device (it is given one); a batch never waits on the CPU;
// reads back only what the caller asks for.

import { GpuCommandError } from '../../../shared/errors';

/** A WGSL kernel: one file in kernels/, compiled with `override` constants per variant. */
export interface KernelSource {
  name: string; // file stem, e.g. "rms_norm"
  code: string; // WGSL text
  entryPoint?: string; // default "main"
}

export type Constants = Record<string, number>;

const UNIFORM_ALIGN = 256; // minUniformBufferOffsetAlignment upper bound on every adapter we target
const STAGING_POOLED_MAX = 256; // bytes: reads up to this size use pooled staging buffers
const UNIFORM_RING_BYTES = 1 << 20;
// Bound on cached bind groups; cleared wholesale when full (buffers churned, e.g. a model reload).
const BIND_GROUP_CACHE = 8192;

/**
 * What the n-th dispatch (or pipeline request) of the previous batch used. A decode step records the
 * same sequence every token, so the n-th call of this batch is checked against slot n by identity
 * (no key strings, no map lookups); a mismatch falls back to the keyed caches and refills the slot.
 */
interface DispatchSlot {
  pipeline: GPUComputePipeline;
  bufs: (GPUBuffer | null)[]; // per binding; null = left out
  offs: number[]; // per binding: offset, or -1 for a whole buffer
  sizes: number[]; // per binding: size, or -1 for a whole buffer / unspecified size
  group: GPUBindGroup;
}

/** One command of a captured batch, re-issued as is by `replay`. */
export type CapturedCommand =
  | { pipeline: GPUComputePipeline; group: GPUBindGroup; x: number; y: number; z: number }
  | { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number };

/**
 * A batch's commands and uniform-ring bytes, recorded from the ring's start. Replaying it with other
 * ring bytes of the same length re-issues the same pipelines and bind groups with no op descriptor run.
 */
export interface CapturedBatch {
  commands: CapturedCommand[];
  ring: Uint8Array; // [ringBytes] the batch's uniforms, ring offset 0 on
  dispatches: number;
}

interface PipelineSlot {
  kernel: KernelSource;
  keys: string[];
  vals: number[];
  pipeline: GPUComputePipeline;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  private pipelines = new Map<string, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private ring: GPUBuffer;
  private ringStaging: Uint8Array;
  private ringOffset = 0;
  private ringBase = 0; // first byte of the current batch's uniforms
  private bindGroups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<object, number>();
  private nextId = 1;
  /** Dispatches recorded since creation (for per-token counters). */
  dispatchCount = 0;
  /**
   * Measurement only (bench --ablate): dispatches with these labels are left out, so the GPU time
   * without them shows what they cost inside a whole step. The results are then wrong by design.
   */
  ablate: ReadonlySet<string> | null = null;
  private stagingPool: GPUBuffer[] = [];
  private dispatchSlots: DispatchSlot[] = [];
  private pipelineSlots: PipelineSlot[] = [];
  private dispatchCursor = 0; // dispatches recorded in the current batch
  private pipelineCursor = 0; // pipeline() calls in the current batch
  private passPipeline: GPUComputePipeline | null = null; // last pipeline set on the open pass
  /** Commands of the batch being captured; `capturable` turns false on anything `replay` cannot redo. */
  private capture: { commands: CapturedCommand[]; dispatches: number; capturable: boolean } | null = null;

  /**
   * A CPU implementation (lavapipe, SwiftShader): kernels then keep loop bounds the shader compiler
   * cannot see, since its full unrolling costs seconds of compile per pipeline.
   */
  readonly software: boolean;
  /** device.limits builds a fresh object on every read through the native binding: read once. */
  readonly maxWorkgroups: number;
  /**
   * WGSL subgroup matrices (`chromium_experimental_subgroup_matrix`, tensor cores on NVIDIA) are on the
   * device. Dawn's matrix shapes on the H200: f16→f16/f32 at 16×16×16, 16×8×16, 16×8×8. Kernels that use
   * them keep a path without.
   */
  readonly subgroupMatrix: boolean;
  /**
   * The first error the device reported outside an error scope (a kernel that failed to compile or
   * validate, an allocation that failed): Dawn only logs those, and the dispatches after them do
   * nothing. read() and sync() throw it, so no result computed after it reaches a caller.
   */
  private failure: { message: string; outOfMemory: boolean } | null = null;

  constructor(device: GPUDevice) {
    this.device = device;
    device.addEventListener('uncapturederror', (ev) => {
      const error = (ev as GPUUncapturedErrorEvent).error;
      this.failure ??= { message: error.message, outOfMemory: error.constructor.name === 'GPUOutOfMemoryError' };
    });
    this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    this.subgroupMatrix = device.features.has('chromium-experimental-subgroup-matrix') && device.features.has('shader-f16') && device.features.has('subgroups');
    // GPUDevice.adapterInfo is newer than some typings; absent, the device counts as hardware.
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    this.software = !!info && (info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`));
    this.ring = device.createBuffer({ label: 'uniform-ring', size: UNIFORM_RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.ringStaging = new Uint8Array(UNIFORM_RING_BYTES);
  }

  /** The compiled pipeline for a kernel variant; compiled once per (kernel, constants). */
  pipeline(kernel: KernelSource, constants: Constants = {}): GPUComputePipeline {
    const slotIndex = this.pipelineCursor++;
    const slot = this.pipelineSlots[slotIndex];
    if (slot && slot.kernel === kernel) {
      let j = 0;
      let same = true;
      for (const k in constants) {
        if (slot.keys[j] !== k || slot.vals[j] !== constants[k]) {
          same = false;
          break;
        }
        j++;
      }
      if (same && j === slot.keys.length) return slot.pipeline;
    }
    const p = this.compiledPipeline(kernel, constants);
    this.pipelineSlots[slotIndex] = { kernel, keys: Object.keys(constants), vals: Object.values(constants), pipeline: p };
    return p;
  }

  private compiledPipeline(kernel: KernelSource, constants: Constants): GPUComputePipeline {
    // Called for every dispatch of every token: the key is built with a plain loop (no sort, no
    // intermediate arrays). Call sites pass constants in a fixed order, so the order is part of the key.
    let key = kernel.entryPoint ? `${kernel.name}:${kernel.entryPoint}` : kernel.name;
    for (const k in constants) key += `,${k}=${constants[k]}`;
    let p = this.pipelines.get(key);
    if (!p) {
      let module = this.modules.get(kernel.name);
      if (!module) {
        module = this.device.createShaderModule({ label: kernel.name, code: kernel.code });
        this.modules.set(kernel.name, module);
      }
      p = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * A storage buffer of `bytes` (rounded up to 16, so kernels may bind it as `array<vec4<…>>`), usable
   * as copy source and destination.
   */
  buffer(bytes: number, label: string, extraUsage = 0): GPUBuffer {
    return this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    });
  }

  /** A storage buffer holding `data` (its bytes padded to a multiple of 4). */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.buffer(data.byteLength, label);
    this.write(buf, data);
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buf, offsetBytes, bytes);
    } else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buf, offsetBytes, padded);
    }
  }

  /**
   * Copy a uniform struct into the ring and return a binding for it. Written to the GPU when the batch
   * is submitted, so the whole batch costs one writeBuffer.
   */
  uniform(data: ArrayBuffer | ArrayBufferView): GPUBufferBinding {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.ceil(bytes.byteLength / 16) * 16;
    if (this.ringOffset + size > UNIFORM_RING_BYTES) {
      // Ring full within one batch: flush what we have and start over.
      this.submit();
    }
    const offset = this.ringOffset;
    this.ringStaging.set(bytes, offset);
    this.ringOffset = offset + Math.ceil(size / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { buffer: this.ring, offset, size };
  }

  private nextTimestampWrites: GPUComputePassTimestampWrites | undefined;

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass(this.nextTimestampWrites ? { timestampWrites: this.nextTimestampWrites } : undefined);
      this.passPipeline = null;
      this.nextTimestampWrites = undefined;
    }
    return this.pass;
  }

  /**
   * End the current compute pass; the next dispatch opens a new one that writes `timestampWrites`
   * (used by GpuTimer to time a group of dispatches).
   */
  splitPass(timestampWrites?: GPUComputePassTimestampWrites): void {
    if (timestampWrites && this.capture) this.capture.capturable = false;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.nextTimestampWrites = timestampWrites;
  }

  /** Record commands on the batch's encoder between passes (query resolves, copies). */
  encode(record: (encoder: GPUCommandEncoder) => void): void {
    if (this.capture) this.capture.capturable = false;
    this.encodeRaw(record);
  }

  private encodeRaw(record: (encoder: GPUCommandEncoder) => void): void {
    this.splitPass(this.nextTimestampWrites);
    this.encoder ??= this.device.createCommandEncoder();
    record(this.encoder);
  }

  /**
   * Record one dispatch into the current batch. `bindings[i]` goes to @group(0) @binding(i);
   * a GPUBufferBinding (from `uniform`) or a whole buffer; null leaves binding i out (an entry point
   * that does not use it).
   */
  dispatch(pipeline: GPUComputePipeline, bindings: (GPUBuffer | GPUBufferBinding | null)[], workgroups: [number, number?, number?], label?: string): void {
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    if (this.ablate?.has(label ?? pipeline.label)) return;
    const max = this.maxWorkgroups;
    if (x > max || y > max || z > max) throw new Error(`dispatch ${label ?? pipeline.label}: ${x}×${y}×${z} workgroups exceeds the limit ${max} per dimension`);
    const bindGroup = this.slotBindGroup(pipeline, bindings, label);
    const pass = this.computePass();
    // Consecutive dispatches of one kernel (a layer's GEMVs) skip the native setPipeline call.
    if (this.passPipeline !== pipeline) {
      pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
    }
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
    if (this.capture) {
      this.capture.commands.push({ pipeline, group: bindGroup, x, y, z });
      this.capture.dispatches++;
    }
  }

  /** Commands or uniforms recorded and not yet submitted. */
  get batchOpen(): boolean {
    return this.encoder !== null || this.pass !== null || this.ringOffset !== 0;
  }

  /**
   * Start capturing the batch about to be recorded; false (and no capture) when a batch is already
   * open, since a captured batch must own the ring from offset 0.
   */
  beginCapture(): boolean {
    if (this.batchOpen) return false;
    this.capture = { commands: [], dispatches: 0, capturable: true };
    return true;
  }

  /** Stop capturing; the batch stays open (not submitted). Null when it used something `replay` cannot redo. */
  endCapture(): CapturedBatch | null {
    const c = this.capture;
    this.capture = null;
    if (!c || !c.capturable) return null;
    return { commands: c.commands, ring: this.ringStaging.slice(0, this.ringOffset), dispatches: c.dispatches };
  }

  /**
   * Record a captured batch again into a fresh batch, with `ring` (same length as the capture's) as its
   * uniforms. The caller guarantees every bound buffer still exists and the ring bytes are right.
   */
  replay(batch: CapturedBatch, ring: Uint8Array): void {
    if (this.batchOpen || ring.byteLength !== batch.ring.byteLength) {
      throw new Error('replay: a batch is already open or the uniforms do not match the capture');
    }
    this.ringStaging.set(ring, 0);
    this.ringOffset = ring.byteLength;
    const cmds = batch.commands;
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i];
      if ('pipeline' in c) {
        const pass = this.computePass();
        if (this.passPipeline !== c.pipeline) {
          pass.setPipeline(c.pipeline);
          this.passPipeline = c.pipeline;
        }
        pass.setBindGroup(0, c.group);
        pass.dispatchWorkgroups(c.x, c.y, c.z);
      } else {
        this.encodeRaw((e) => e.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes));
      }
    }
    this.dispatchCount += batch.dispatches;
  }

  /** The bind group of this batch's next dispatch: the previous batch's at the same index when identical. */
  private slotBindGroup(pipeline: GPUComputePipeline, bindings: (GPUBuffer | GPUBufferBinding | null)[], label?: string): GPUBindGroup {
    const slotIndex = this.dispatchCursor++;
    const slot = this.dispatchSlots[slotIndex];
    if (slot && slot.pipeline === pipeline && slot.bufs.length === bindings.length) {
      let same = true;
      for (let i = 0; i < bindings.length && same; i++) {
        const b = bindings[i];
        if (!b) same = slot.bufs[i] === null;
        else if ('buffer' in b) same = slot.bufs[i] === b.buffer && slot.offs[i] === (b.offset ?? 0) && slot.sizes[i] === (b.size ?? -1);
        else same = slot.bufs[i] === b && slot.offs[i] === -1;
      }
      if (same) return slot.group;
    }
    const group = this.bindGroup(pipeline, bindings, label);
    const bufs: (GPUBuffer | null)[] = [];
    const offs: number[] = [];
    const sizes: number[] = [];
    for (const b of bindings) {
      if (!b) {
        bufs.push(null);
        offs.push(-1);
        sizes.push(-1);
      } else if ('buffer' in b) {
        bufs.push(b.buffer);
        offs.push(b.offset ?? 0);
        sizes.push(b.size ?? -1);
      } else {
        bufs.push(b);
        offs.push(-1);
        sizes.push(-1);
      }
    }
    this.dispatchSlots[slotIndex] = { pipeline, bufs, offs, sizes, group };
    return group;
  }

  /**
   * Bind groups are cached by (pipeline, buffers, offsets, sizes): a decode step records the same
   * dispatches with the same uniform-ring offsets every token, so after the first token every bind
   * group is a hit and recording skips Dawn's createBindGroup (tens of µs each).
   */
  private bindGroup(pipeline: GPUComputePipeline, bindings: (GPUBuffer | GPUBufferBinding | null)[], label?: string): GPUBindGroup {
    let key = String(this.objectId(pipeline));
    for (const b of bindings) {
      if (!b) key += '|-';
      else key += 'buffer' in b ? `|${this.objectId(b.buffer)}@${b.offset ?? 0}+${b.size ?? ''}` : `|${this.objectId(b)}`;
    }
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      group = this.device.createBindGroup({
        label,
        layout: pipeline.getBindGroupLayout(0),
        entries: bindings.flatMap((b, i) => (b ? [{ binding: i, resource: 'buffer' in b ? b : { buffer: b } }] : [])),
      });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private objectId(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /** Copy between buffers inside the batch (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.capture?.commands.push({ src, srcOffset, dst, dstOffset, bytes });
    this.encodeRaw((e) => e.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes));
  }

  /** Submit the batch: one uniform upload, one command buffer. Does not wait. */
  submit(): void {
    if (this.capture) this.capture.capturable = false;
    if (this.ringOffset > this.ringBase) {
      this.device.queue.writeBuffer(this.ring, this.ringBase, this.ringStaging, this.ringBase, this.ringOffset - this.ringBase);
    }
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    // Uniforms of a submitted batch stay valid until the ring wraps; the queue orders the writes.
    this.ringBase = this.ringOffset = 0;
    this.dispatchCursor = this.pipelineCursor = 0;
  }

  /** Submit pending work, then read `bytes` of `src` from `offset` back to the CPU. */
  async read(src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    // Small reads (the sampled token id every step) reuse mappable buffers instead of creating one each time.
    const pool = size <= STAGING_POOLED_MAX ? this.stagingPool : null;
    const staging = pool?.pop() ?? this.device.createBuffer({ size: pool ? STAGING_POOLED_MAX : size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.encode((e) => e.copyBufferToBuffer(src, offset, staging, 0, size));
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      this.throwIfFailed(); // before pooling: the catch below destroys the staging buffer
      if (pool && pool.length < 8) pool.push(staging);
      else staging.destroy();
      return out;
    } catch (err) {
      staging.destroy();
      throw err;
    }
  }

  async readF32(src: GPUBuffer, count?: number, offsetElems = 0): Promise<Float32Array> {
    const n = count ?? src.size / 4 - offsetElems;
    return new Float32Array(await this.read(src, n * 4, offsetElems * 4));
  }

  /** Wait until the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /** Whether the device reported an error outside an error scope: this runtime's results are no longer trusted. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Throws the device's first uncaptured error, if any (sticky: every later call throws it too). */
  throwIfFailed(): void {
    const f = this.failure;
    if (f === null) return;
    const first = (f.message.split('\n').find((l) => l.trim() !== '') ?? f.message).trim();
    const what = f.outOfMemory
      ? `The GPU ran out of memory (${first}). Unload other models, or load a smaller model or a shorter context; the next load opens the GPU afresh.`
      : `A GPU command failed, so the results are invalid: ${first} This is a workbench bug or a feature this adapter lacks: ` +
        'please report it with your GPU and driver (the full driver message is in the error details).';
    throw new GpuCommandError(what, { message: f.message, outOfMemory: f.outOfMemory });
  }
}
