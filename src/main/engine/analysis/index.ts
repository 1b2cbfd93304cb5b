// The analysis engine: attention maps reduced on the backend, one layer's exact maps, and the
// training-free shared-map test. Never materialises every layer's full T×T maps on the host at once
// (unless keepFull asks for them, as f16). Every call resets the backend's cache first and resets it
// again when done (also on error or cancel): the cache is left EMPTY, whatever the call did.
import type { GtaConfig, LlamaConfig, MlaConfig } from '../../../shared/arch/config';
import { InvalidRequestError } from '../../../shared/errors';
import { CpuBackend } from '../arch/cpu';
import { GpuBackend } from '../arch/gpu';
import type { AttentionMap, InferenceBackend } from '../arch/types';
import { layerCpu, reduceCpu, sharedNllCpu } from './cpu';
import { cancelled, layerGpu, reduceGpu, sharedNllGpu } from './gpu';
import { gramItems, gramsCpu, gramsGpu, type GramRequest, type PartGram } from './grams';
import { shareTargets } from './shares';
import type { AttentionReduceOptions, AttentionReduction, MapShare } from './types';

export type { AttentionReduceOptions, AttentionReduction, LayerReduction, MapShare } from './types';
export type { GramRequest, PartGram } from './grams';

function checkIds(backend: InferenceBackend, ids: number[], min = 1): void {
  const T = ids.length;
  if (T < min) throw new InvalidRequestError(min > 1 ? `the text needs at least ${min} tokens (it has ${T})` : 'the text has no tokens');
  const ctx = Math.min(backend.nCtx, backend.config.maxPositions);
  if (T > ctx) {
    throw new InvalidRequestError(`the text has ${T.toLocaleString('en-US')} tokens; this model as loaded holds ${ctx.toLocaleString('en-US')}: shorten the text or load the model with a longer context`);
  }
  const V = backend.config.vocabSize;
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad !== undefined) throw new InvalidRequestError(`token id ${bad} is outside the vocabulary [0, ${V}) of this model`);
}

async function withReset<T>(backend: InferenceBackend, run: () => Promise<T> | T): Promise<T> {
  backend.reset();
  try {
    return await run();
  } finally {
    backend.reset();
  }
}

function unsupported(backend: InferenceBackend): never {
  throw new InvalidRequestError(`the ${backend.kind} backend "${backend.device}" does not support attention analysis`);
}

export async function reduceAttention(backend: InferenceBackend, ids: number[], o: AttentionReduceOptions): Promise<AttentionReduction> {
  checkIds(backend, ids);
  if (!Number.isInteger(o.thumbSide) || o.thumbSide < 1) throw new InvalidRequestError(`the thumbnail side must be a whole number ≥ 1 (got ${o.thumbSide})`);
  if (!Number.isInteger(o.crossLayerRows) || o.crossLayerRows < 0) throw new InvalidRequestError(`cross-layer rows must be a whole number ≥ 0 (got ${o.crossLayerRows})`);
  if (o.thumbReduce !== 'mean' && o.thumbReduce !== 'max') throw new InvalidRequestError(`thumbnail reduction must be 'mean' or 'max'`);
  return withReset(backend, () => {
    if (backend instanceof GpuBackend) return reduceGpu(backend, ids, o);
    if (backend instanceof CpuBackend) return reduceCpu(backend, ids, o);
    return unsupported(backend);
  });
}

export async function attentionOfLayer(backend: InferenceBackend, ids: number[], layer: number): Promise<AttentionMap> {
  checkIds(backend, ids);
  const L = backend.config.numLayers;
  if (!Number.isInteger(layer) || layer < 0 || layer >= L) throw new InvalidRequestError(`layer ${layer} is not a layer of this model (0 .. ${L - 1})`);
  return withReset(backend, () => {
    if (backend instanceof GpuBackend) return layerGpu(backend, ids, layer);
    if (backend instanceof CpuBackend) return layerCpu(backend, ids, layer);
    return unsupported(backend);
  });
}

/**
 * Mean next-token NLL (nats) over the T − 1 predicted tokens with each share's groups of ≥ 2 maps
 * replaced by their shared map (singleton groups, and shares = [], leave the model unmodified).
 */
export async function sharedMapNll(backend: InferenceBackend, ids: number[], shares: MapShare[], signal?: AbortSignal): Promise<{ nll: number; tokens: number }> {
  checkIds(backend, ids, 2);
  const maps = backend instanceof GpuBackend ? backend.maps.heads : mapsOf(backend);
  const targets = shareTargets(shares, backend.config.numLayers, maps);
  const sum = await withReset(backend, () => {
    if (backend instanceof GpuBackend) return sharedNllGpu(backend, ids, targets, signal);
    if (backend instanceof CpuBackend) {
      cancelled(signal);
      return sharedNllCpu(backend, ids, targets);
    }
    return unsupported(backend);
  });
  return { nll: sum / (ids.length - 1), tokens: ids.length - 1 };
}

/**
 * KV compressibility: G = XᵀX [dim, dim] (float64 on the host, row-major, symmetric) of each requested
 * cached part's rows X [T, dim] over the text, X being the forward's tap `${tap}.${layer}` ('k', 'v',
 * 'latent', 'v_decode' as the family has them), in the order asked (tap by tap, layers as listed).
 * GPU: accumulated in f32 on the device, only the d×d matrices read back. CPU: float64 from the
 * reference forward's intermediates ('v_decode' needs the GPU backend).
 */
export async function cacheGrams(backend: InferenceBackend, ids: number[], taps: GramRequest[], signal?: AbortSignal): Promise<PartGram[]> {
  checkIds(backend, ids);
  const items = gramItems(backend.config, taps);
  if (items.length === 0) return [];
  return withReset(backend, () => {
    if (backend instanceof GpuBackend) return gramsGpu(backend, ids, items, signal);
    if (backend instanceof CpuBackend) return gramsCpu(backend, ids, items, signal);
    throw new InvalidRequestError(`the ${backend.kind} backend "${backend.device}" does not support KV compressibility`);
  });
}

/** Maps per layer from the config (heads; GTA: query groups). */
function mapsOf(backend: InferenceBackend): number {
  const c = backend.config;
  return c.family === 'gta' ? (c as GtaConfig).numQueryHeads : (c as LlamaConfig | MlaConfig).numHeads;
}
