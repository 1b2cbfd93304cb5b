// The Analysis section's state at module level, so a running analysis keeps its progress and the open
// summary stays open when the user switches sections: the form, the job under way, the open summary,
// past analyses (runs of kind 'analysis') and a cache of the arrays fetched for the open run.
import { ref, shallowRef } from 'vue';
import type { Run, RunStatus } from '../../shared/api';
import type { AnalysisKind, AnalysisSummary, SharedMapMode, ThumbReduce } from '../../shared/analysis/types';
import { ANALYSIS_KINDS } from '../../shared/analysis/types';
import { workbench } from '../api';
import { decodeArray } from '../components/analysis/plot';

export type TextSource = 'text' | 'file' | 'conversation';

export const analysisForm = ref({
  source: 'text' as TextSource,
  text: '',
  fileName: null as string | null,
  fileText: '',
  conversationId: null as string | null,
  analyses: [...ANALYSIS_KINDS] as AnalysisKind[],
  thumbReduce: 'mean' as ThumbReduce,
  taus: '0.05, 0.1, 0.2',
  sharedMode: 'medoid' as SharedMapMode,
  /** Each layer grouped alone in the shared-map test: 'auto' lets the main side decide (on up to 12 layers). */
  perLayer: 'auto' as 'auto' | 'on' | 'off',
  title: '',
});

export interface AnalysisJob {
  taskId: string;
  runId: string;
  modelName: string;
  running: boolean;
  status: RunStatus | null;
  error: string | null;
}

export const analysisJob = ref<AnalysisJob | null>(null);
export const summary = shallowRef<AnalysisSummary | null>(null);
export const summaryRun = ref<Run | null>(null);
export const summaryError = ref<string | null>(null);
export const summaryLoading = ref(false);
export const pastRuns = ref<Run[]>([]);
export const pastTotal = ref(0);

export interface DecodedArray {
  shape: number[];
  data: Float32Array;
}
const arrays = new Map<string, Promise<DecodedArray>>();

/** One array (or slice) of an analysis run, decoded; cached for the session. */
export function fetchArray(runId: string, name: string, index?: number[]): Promise<DecodedArray> {
  const key = `${runId}/${name}/${index?.join(',') ?? ''}`;
  let p = arrays.get(key);
  if (!p) {
    p = workbench.getAnalysisArray({ runId, name, index }).then((payload) => ({ shape: payload.shape, data: decodeArray(payload) }));
    p.catch(() => arrays.delete(key));
    arrays.set(key, p);
  }
  return p;
}

/** The all-layers similarity matrices' array names (the pipeline's GLOBAL_JS_ARRAY / GLOBAL_COSINE_ARRAY). */
export const GLOBAL_ARRAYS = { js: 'global-js.f32', cosine: 'global-cosine.f32' } as const;

/**
 * The all-layers [n·n] JS or cosine matrix of an analysis: inline in older runs' summaries, else fetched
 * (once per session) from its array artifact — only when a tab shows it. null when the run has neither.
 */
export async function globalMatrix(s: AnalysisSummary, which: 'js' | 'cosine'): Promise<ArrayLike<number> | null> {
  const g = s.similarity?.global;
  if (!g || g.n === 0) return null;
  if (g[which].length > 0) return g[which];
  const name = GLOBAL_ARRAYS[which];
  if (!s.arrays[name]) return null;
  return (await fetchArray(s.runId, name)).data;
}

export interface DecodedMap extends DecodedArray {
  resolution: 'full' | 'thumb';
  source: 'stored' | 'recomputed';
}
const maps = new Map<string, Promise<DecodedMap>>();

/** One attention map at the best resolution the host has (attentionMap), decoded and cached. */
export function fetchMap(runId: string, layer: number, map: number): Promise<DecodedMap> {
  const key = `${runId}/${layer}/${map}`;
  let p = maps.get(key);
  if (!p) {
    p = workbench.attentionMap({ runId, layer, map }).then((r) => ({ shape: r.shape, data: decodeArray(r), resolution: r.resolution, source: r.source }));
    p.catch(() => maps.delete(key));
    maps.set(key, p);
  }
  return p;
}

export async function refreshPast(): Promise<void> {
  const page = await workbench.listRuns({ kind: 'analysis', sort: 'createdAt', order: 'desc', limit: 100 });
  pastRuns.value = page.runs;
  pastTotal.value = page.total;
}

let openSeq = 0;
/** Opens an analysis run's stored summary (no recomputation). */
export async function openAnalysis(runId: string): Promise<void> {
  if (summary.value?.runId === runId && !summaryError.value) return;
  const mine = ++openSeq;
  summaryLoading.value = true;
  summaryError.value = null;
  try {
    const [s, run] = await Promise.all([workbench.getAnalysis({ runId }), workbench.getRun({ id: runId }).catch(() => null)]);
    if (mine !== openSeq) return;
    summary.value = s;
    summaryRun.value = run;
  } catch (err) {
    if (mine !== openSeq) return;
    summary.value = null;
    summaryRun.value = null;
    summaryError.value = (err as Error).message;
  } finally {
    if (mine === openSeq) summaryLoading.value = false;
  }
}

export function closeAnalysis(): void {
  openSeq++;
  summary.value = null;
  summaryRun.value = null;
  summaryError.value = null;
}

/** Called when the running analysis ends: its summary opens (also when stopped: what it finished). */
let onFinished: ((runId: string) => void) | null = null;
export function setOnFinished(fn: ((runId: string) => void) | null): void {
  onFinished = fn;
}

let subscribed = false;
export function followAnalysis(): void {
  if (subscribed) return;
  subscribed = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  workbench.onEvent((event) => {
    if ((event.type === 'run-updated' && event.run.kind === 'analysis') || event.type === 'run-deleted') {
      clearTimeout(timer);
      timer = setTimeout(() => void refreshPast().catch(() => undefined), 200);
    }
    const j = analysisJob.value;
    if (!j) return;
    if (event.type === 'run-updated' && event.run.id === j.runId) {
      j.status = event.run.status;
      if (event.run.error) j.error = event.run.error;
    }
    if (event.type === 'task-finished' && event.taskId === j.taskId) {
      j.running = false;
      if (event.outcome === 'failed') j.error = event.error ?? 'The analysis failed.';
      j.status = event.outcome === 'completed' ? 'completed' : event.outcome === 'cancelled' ? 'stopped' : 'failed';
      const runId = event.runId ?? j.runId;
      if (runId && event.outcome !== 'failed') onFinished?.(runId);
    }
  });
}
