// Default sampling for a model: generation_config.json's values where the checkpoint ships them (what
// its authors tuned), the workbench's defaults otherwise; max tokens bounded by the loaded context.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SamplingSettings } from '../../shared/api';

export const WORKBENCH_SAMPLING: SamplingSettings = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxTokens: 256 };

type Obj = Record<string, unknown>;

function inRange(v: unknown, ok: (n: number) => boolean): v is number {
  return typeof v === 'number' && Number.isFinite(v) && ok(v);
}

export function defaultSampling(dir: string, nCtx: number): SamplingSettings {
  let g: Obj = {};
  try {
    const raw: unknown = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'));
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) g = raw as Obj;
  } catch {
    // No (or an unreadable) generation_config.json: the workbench's defaults apply.
  }
  const s: SamplingSettings = { ...WORKBENCH_SAMPLING };
  if (inRange(g.temperature, (n) => n >= 0)) s.temperature = g.temperature;
  if (inRange(g.top_k, (n) => Number.isInteger(n) && n >= 0)) s.topK = g.top_k;
  if (inRange(g.top_p, (n) => n > 0 && n <= 1)) s.topP = g.top_p;
  if (inRange(g.repetition_penalty, (n) => n > 0)) s.repetitionPenalty = g.repetition_penalty;
  if (inRange(g.max_new_tokens, (n) => Number.isInteger(n) && n > 0)) s.maxTokens = g.max_new_tokens;
  // do_sample false means greedy decoding in transformers.
  if (g.do_sample === false) s.temperature = 0;
  s.maxTokens = Math.max(1, Math.min(s.maxTokens, Math.floor(nCtx / 2)));
  return s;
}
