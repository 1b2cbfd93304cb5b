// Long host tasks (model loads, chats, benchmarks) from task-started / progress / task-finished
// events, for the status bar.
import { computed, reactive } from 'vue';
import type { TaskKind, WorkbenchEvent } from '../../shared/api';

export interface TaskState {
  taskId: string;
  kind?: TaskKind;
  label: string;
  /** Set once the task reports progress; a task that never does shows as indeterminate. */
  done?: number;
  total?: number;
}

const tasks = reactive(new Map<string, TaskState>());

/** Updates the task table; returns the finished task's last state when `event` ends one. */
export function trackTask(event: WorkbenchEvent): TaskState | undefined {
  if (event.type === 'task-started') {
    tasks.set(event.taskId, { taskId: event.taskId, kind: event.kind, label: event.label });
  } else if (event.type === 'progress') {
    const known = tasks.get(event.taskId);
    tasks.set(event.taskId, { ...known, taskId: event.taskId, label: event.label, done: event.done, total: event.total });
  } else if (event.type === 'task-finished') {
    const last = tasks.get(event.taskId);
    tasks.delete(event.taskId);
    return last ?? { taskId: event.taskId, kind: event.kind, label: event.kind };
  }
  return undefined;
}

/** Tasks under way, oldest first. */
export const activeTasks = computed(() => [...tasks.values()]);

export function percent(t: TaskState): string {
  if (t.done === undefined || !t.total) return '';
  return `${Math.min(100, Math.floor((100 * t.done) / t.total))}%`;
}
