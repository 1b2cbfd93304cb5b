// Progress of long host tasks (model loads, benchmarks) from 'progress' events, for the status bar.
import { computed, reactive } from 'vue';
import type { WorkbenchEvent } from '../../shared/api';

type Progress = Extract<WorkbenchEvent, { type: 'progress' }>;
const tasks = reactive(new Map<string, Progress>());

export function trackProgress(event: WorkbenchEvent): void {
  if (event.type !== 'progress') return;
  if (event.done >= event.total) tasks.delete(event.taskId);
  else tasks.set(event.taskId, event);
}

/** Tasks still under way, oldest first. */
export const activeTasks = computed(() => [...tasks.values()]);
