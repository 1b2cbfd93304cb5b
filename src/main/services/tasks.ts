// Long operations as cancellable tasks: each has an id the renderer may choose (so it can match events
// and cancel before the reply arrives), an AbortSignal the work checks, and one task-finished event.
import { randomUUID } from 'node:crypto';
import type { TaskKind, TaskOutcome } from '../../shared/api';
import { CancelledError, InvalidRequestError } from '../../shared/errors';
import type { EventBus } from './events';

export interface Task {
  id: string;
  kind: TaskKind;
  label: string;
  signal: AbortSignal;
  /** Extra keys a task can be found by, e.g. the conversation a reply belongs to. */
  key?: string;
  /** Report progress as a `progress` event. */
  progress(done: number, total: number, label?: string): void;
}

interface Entry {
  task: Task;
  controller: AbortController;
  done: Promise<TaskOutcome>;
}

export class TaskRegistry {
  private readonly live = new Map<string, Entry>();

  constructor(private readonly events: EventBus) {}

  /**
   * Run `work` as a task and settle like it. The task-finished event tells cancelled (CancelledError or
   * an aborted signal) from failed; `runId` lets the renderer open the run the task recorded.
   */
  run<T>(kind: TaskKind, label: string, opts: { taskId?: string; key?: string }, work: (t: Task) => Promise<T>, runIdOf?: (t: T) => string | undefined): Promise<T> {
    const id = opts.taskId ?? randomUUID();
    if (this.live.has(id)) throw new InvalidRequestError(`Task ${id} is already running; use a fresh taskId for each operation.`, { taskId: id });
    const controller = new AbortController();
    const task: Task = {
      id,
      kind,
      label,
      signal: controller.signal,
      key: opts.key,
      progress: (done, total, l) => this.events.emit({ type: 'progress', taskId: id, label: l ?? label, done, total }),
    };
    this.events.emit({ type: 'task-started', taskId: id, kind, label });
    const promise = (async () => work(task))();
    const done = promise.then(
      (result) => {
        const runId = runIdOf?.(result);
        const outcome: TaskOutcome = controller.signal.aborted ? 'cancelled' : 'completed';
        this.events.emit({ type: 'task-finished', taskId: id, kind, outcome, ...(runId ? { runId } : {}) });
        return outcome;
      },
      (err: unknown) => {
        const cancelled = err instanceof CancelledError || controller.signal.aborted;
        const outcome: TaskOutcome = cancelled ? 'cancelled' : 'failed';
        const runId = (err as { runId?: string })?.runId;
        this.events.emit({ type: 'task-finished', taskId: id, kind, outcome, error: (err as Error)?.message ?? String(err), ...(runId ? { runId } : {}) });
        return outcome;
      },
    );
    const entry: Entry = { task, controller, done };
    this.live.set(id, entry);
    void done.finally(() => this.live.delete(id));
    return promise;
  }

  /** Abort a live task; false when no such task runs (it may have just finished). */
  cancel(taskId: string): boolean {
    const e = this.live.get(taskId);
    if (!e) return false;
    e.controller.abort();
    return true;
  }

  /** Abort every live task with this key; returns how many. */
  cancelByKey(key: string): number {
    let n = 0;
    for (const e of this.live.values()) {
      if (e.task.key === key) {
        e.controller.abort();
        n++;
      }
    }
    return n;
  }

  /** Resolves with the outcome once the task ends (immediately 'completed' for an unknown id). */
  settled(taskId: string): Promise<TaskOutcome> {
    return this.live.get(taskId)?.done ?? Promise.resolve('completed');
  }

  /** The kinds running now. */
  running(): TaskKind[] {
    return [...this.live.values()].map((e) => e.task.kind);
  }

  cancelAll(): Promise<unknown> {
    const all = [...this.live.values()];
    for (const e of all) e.controller.abort();
    return Promise.all(all.map((e) => e.done));
  }
}
