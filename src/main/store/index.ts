export { RunStore, type OpenStoreOptions, type Quarantine } from './run-store';
export type { StoredRun } from './rows';
export { defaultDataDir, DB_FILE, ARTIFACTS_DIR } from './paths';
export { toStorageError } from './errors';
export { MIGRATIONS, migrate, schemaVersion } from './migrations';
export type { ChatStore, MessagePatch, NewMessage } from './chat-store';
export type { ModelFolder, ModelFolders } from './model-folders';
