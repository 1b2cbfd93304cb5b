// systemInfo() is asked once per page and shared: the status bar, Models and the shell all read it.
import { ref } from 'vue';
import type { SystemInfo } from '../../shared/api';
import { workbench } from '../api';

export const systemInfo = ref<SystemInfo | null>(null);
export const systemInfoError = ref<Error | null>(null);
let pending: Promise<void> | null = null;

export function loadSystemInfo(): Promise<void> {
  pending ??= workbench
    .systemInfo({})
    .then((info) => {
      systemInfo.value = info;
      systemInfoError.value = null;
    })
    .catch((err: Error) => {
      systemInfoError.value = err;
      pending = null; // allow a retry from the UI
    });
  return pending;
}

/** Feature names that matter for running models, with the short label the status bar uses. */
export const KEY_FEATURES: ReadonlyArray<{ feature: string; label: string }> = [
  { feature: 'shader-f16', label: 'f16' },
  { feature: 'subgroups', label: 'subgroups' },
  { feature: 'timestamp-query', label: 'timestamps' },
];
