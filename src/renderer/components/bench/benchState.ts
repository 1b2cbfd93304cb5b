// The benchmark panel's state lives at module level, so a benchmark keeps its progress and results when
// the user switches tabs or sections while it runs.
import { ref } from 'vue';
import type { RunDetail, RunStatus } from '../../../shared/api';
import { workbench } from '../../api';

export const form = ref({
  modelId: null as string | null,
  prefill: '16, 32, 64',
  contexts: '16, 64, 128',
  repetitions: 2,
  decodeSteps: 8,
});

export interface BenchJob {
  taskId: string;
  runId: string;
  modelName: string;
  running: boolean;
  status: RunStatus | null;
  error: string | null;
}

export const job = ref<BenchJob | null>(null);
export const result = ref<RunDetail | null>(null);

export async function refreshResult(): Promise<void> {
  const j = job.value;
  if (!j?.runId) return;
  const detail = await workbench.getRun({ id: j.runId });
  if (job.value?.runId !== j.runId) return;
  result.value = detail;
  j.status = detail.status;
  if (detail.error) j.error = detail.error;
}

let subscribed = false;
export function followBench(): void {
  if (subscribed) return;
  subscribed = true;
  workbench.onEvent((event) => {
    const j = job.value;
    if (!j) return;
    if (event.type === 'run-updated' && event.run.id === j.runId) void refreshResult().catch(() => undefined);
    if (event.type === 'task-finished' && event.taskId === j.taskId) {
      j.running = false;
      if (event.error && event.outcome === 'failed') j.error = event.error;
      void refreshResult().catch(() => undefined);
    }
  });
}

/** "16, 32 64" → [16, 32, 64]; null when any entry is not a positive integer. */
export function parseLengths(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return null;
  const out = parts.map(Number);
  return out.every((n) => Number.isInteger(n) && n > 0) ? out : null;
}
