// Run export as a browser download: the host renders the file (exportRuns), the page saves it through a
// Blob link, which works the same in Electron and in a plain browser.
import type { ExportResult } from '../../shared/api';
import { workbench } from '../api';

export function saveText(filename: string, mime: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has started by the time the click returns; free the Blob a little later anyway.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function exportRuns(ids: string[], format: 'json' | 'csv'): Promise<ExportResult> {
  const result = await workbench.exportRuns({ ids, format });
  saveText(result.filename, result.mime, result.text);
  return result;
}
