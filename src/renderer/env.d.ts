/// <reference types="vite/client" />

interface Window {
  /** Provided by the Electron preload; absent in a plain browser (see api/index.ts). */
  workbench?: import('../shared/api').WorkbenchApi;
}
