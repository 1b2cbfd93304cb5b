// Where the run database and artifact blobs live when the caller does not say.
// Electron uses app.getPath('userData'); the browser host and tools use the per-user default below.
import { homedir } from 'node:os';
import { join } from 'node:path';

export const APP_DIR_NAME = 'gta-workbench';
export const DB_FILE = 'workbench.db';
export const ARTIFACTS_DIR = 'artifacts';

/** The per-user data directory, following each platform's convention. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), APP_DIR_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_DIR_NAME);
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), APP_DIR_NAME);
}
