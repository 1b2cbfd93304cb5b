// chooseFolder for the Electron host: the native folder dialog, attached to the app's window so it is
// modal to it. Takes a showOpenDialog-like function (no electron import) so it is tested without Electron.
import type { ApiHandlers } from '../../shared/api';
import { WorkbenchError } from '../../shared/errors';

export interface FolderDialogOptions {
  title: string;
  properties: ['openDirectory'];
}

/** The part of Electron's `dialog.showOpenDialog(window, options)` reply that chooseFolder reads. */
export type ShowOpenDialog = (options: FolderDialogOptions) => Promise<{ canceled: boolean; filePaths: string[] }>;

const DEFAULT_TITLE = 'Choose a model folder';

export function folderChooser(show: ShowOpenDialog): ApiHandlers['chooseFolder'] {
  return async ({ title }) => {
    let reply: Awaited<ReturnType<ShowOpenDialog>>;
    try {
      reply = await show({ title: title || DEFAULT_TITLE, properties: ['openDirectory'] });
    } catch (err) {
      throw new WorkbenchError(`The folder dialog could not open: ${(err as Error).message}. Type the folder's path into the field instead.`);
    }
    const path = reply.canceled ? null : (reply.filePaths[0] ?? null);
    return { path, supported: true };
  };
}
