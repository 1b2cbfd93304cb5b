// CPU reference forward passes: one per family, each keeping its cache in the variant's true form.
import type { ModelConfig } from '../../../../shared/arch/config';
import type { CpuModel, WeightMap } from './common';
import { createGtaModel } from './gta';
import { createLlamaModel } from './llama';
import { createMlaModel, type MlaForm } from './mla';

export type { AttendFn, AttendIo, CpuModel, ForwardHooks, ProbsFn, TapFn, WeightMap } from './common';
export type { MlaForm } from './mla';

export interface CpuModelOptions {
  /** MLA only: decode from the latent by absorbing W_UK/W_UV (default) or by expanding K/V per head. */
  mlaForm?: MlaForm;
}

export function createCpuModel(config: ModelConfig, weights: WeightMap, opts: CpuModelOptions = {}): CpuModel {
  if (config.family === 'llama') return createLlamaModel(config, weights);
  if (config.family === 'mla') return createMlaModel(config, weights, opts.mlaForm);
  return createGtaModel(config, weights);
}
