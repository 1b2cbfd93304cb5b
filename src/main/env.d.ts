// WGSL kernels are imported as text: `import code from '../../../kernels/rms_norm.wgsl?raw'`.
// Vite (electron-vite, vitest) handles `?raw`; tools/bundle.mjs does the same for esbuild bundles.
declare module '*.wgsl?raw' {
  const code: string;
  export default code;
}
