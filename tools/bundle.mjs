// Bundle a Node entry point (TypeScript) into one ESM file with esbuild, WGSL inlined as text and the
// native modules left external. Used by `npm run cli` and to build .device/ bundles for GPU machines.
//   node tools/bundle.mjs src/main/cli.ts out/cli/cli.mjs
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { resolve, dirname } from 'node:path';

const rawWgsl = {
  name: 'raw-wgsl',
  setup(b) {
    b.onResolve({ filter: /\.wgsl\?raw$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path.replace(/\?raw$/, '')),
      namespace: 'wgsl',
    }));
    b.onLoad({ filter: /.*/, namespace: 'wgsl' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

export async function bundle(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    external: ['webgpu', 'better-sqlite3', 'electron', 'ws'],
    plugins: [rawWgsl],
    // ESM output still needs require() for CommonJS dependencies bundled inside.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [entry, out] = process.argv.slice(2);
  if (!entry || !out) {
    console.error('usage: node tools/bundle.mjs ENTRY.ts OUT.mjs');
    process.exit(2);
  }
  await bundle(entry, out);
  console.log(`bundled ${entry} → ${out} (${dirname(out)})`);
}
