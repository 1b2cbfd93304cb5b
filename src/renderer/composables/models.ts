// The model list and the loaded model, shared by Models, Chat and the benchmark panel. Kept fresh from
// models-changed / model-loaded / model-unloaded events, so a load started anywhere shows everywhere.
import { computed, ref } from 'vue';
import type { LoadedModel, ModelEntry, TaskKind } from '../../shared/api';
import { workbench } from '../api';

export const models = ref<ModelEntry[]>([]);
export const catalogProblem = ref<string | null>(null);
export const modelsError = ref<string | null>(null);
export const modelsLoaded = ref(false);
export const loadedModel = ref<LoadedModel | null>(null);
export const hostBusy = ref<TaskKind | null>(null);

export const defaultModel = computed(() => models.value.find((m) => m.isDefault) ?? null);

export async function refreshModels(): Promise<void> {
  try {
    const [list, status] = await Promise.all([workbench.listModels({}), workbench.modelStatus({})]);
    models.value = list.models;
    catalogProblem.value = list.catalogProblem ?? null;
    loadedModel.value = status.loaded;
    hostBusy.value = status.busy;
    modelsError.value = null;
  } catch (err) {
    modelsError.value = (err as Error).message;
  } finally {
    modelsLoaded.value = true;
  }
}

/** The loaded model's memory grows with the KV cache; ask again after each reply. */
export async function refreshLoaded(): Promise<void> {
  try {
    const status = await workbench.modelStatus({});
    loadedModel.value = status.loaded;
    hostBusy.value = status.busy;
  } catch (err) {
    modelsError.value = (err as Error).message;
  }
}

let subscribed = false;
/** Start following model events once per page; views call this on mount. */
export function useModels(): void {
  if (!subscribed) {
    subscribed = true;
    workbench.onEvent((event) => {
      if (event.type === 'model-loaded') {
        loadedModel.value = event.model;
        void refreshModels();
      } else if (event.type === 'model-unloaded' || event.type === 'models-changed') {
        void refreshModels();
      }
    });
  }
  void refreshModels();
}

/** A task id the caller chooses, so it can follow progress and cancel before the reply arrives. */
export function newTaskId(): string {
  return crypto.randomUUID();
}
