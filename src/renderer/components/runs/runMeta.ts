// Display metadata for run kinds and statuses, shared by the table, the filters and the drawer.
import type { RunKind, RunStatus } from '../../../shared/api';

export const RUN_KINDS: readonly RunKind[] = ['chat', 'bench', 'load', 'analysis', 'compare', 'manual'];
/**
 * The kinds the app creates today, offered by the kind filter. 'compare' exists in the schema for the
 * Compare section, which does not create runs yet: add it here when it does.
 */
export const CREATED_KINDS: readonly RunKind[] = ['chat', 'bench', 'load', 'analysis', 'manual'];
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'interrupted', 'stopped'];

type TagType = 'default' | 'info' | 'success' | 'warning' | 'error';
export const STATUS_TAG: Record<RunStatus, TagType> = {
  running: 'info',
  completed: 'success',
  failed: 'error',
  interrupted: 'warning',
  stopped: 'default',
};

export const kindOptions = CREATED_KINDS.map((k) => ({ label: k, value: k }));
export const statusOptions = RUN_STATUSES.map((s) => ({ label: s, value: s }));
