// A tiny typed event bus: services publish WorkbenchEvents, hosts forward them to renderers.
import type { Unsubscribe, WorkbenchEvent } from '../../shared/api';

export type EventListener = (event: WorkbenchEvent) => void;

export interface EventBus {
  subscribe(listener: EventListener): Unsubscribe;
  emit(event: WorkbenchEvent): void;
}

export function createEventBus(onListenerError: (err: unknown) => void = (err) => console.error('event listener failed:', err)): EventBus {
  const listeners = new Set<EventListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit(event) {
      // One broken subscriber (a closed socket, a destroyed window) must not starve the others.
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
  };
}
