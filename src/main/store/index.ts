export { RunStore, type OpenStoreOptions } from './run-store';
export { defaultDataDir, DB_FILE, ARTIFACTS_DIR } from './paths';
export { toStorageError } from './errors';
export { MIGRATIONS, migrate, schemaVersion } from './migrations';
