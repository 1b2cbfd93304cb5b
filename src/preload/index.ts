// The bridge: exposes exactly one object, window.workbench, to the sandboxed renderer.
import { contextBridge, ipcRenderer } from 'electron';
import { buildWorkbenchApi } from './api';

contextBridge.exposeInMainWorld('workbench', buildWorkbenchApi(ipcRenderer));
