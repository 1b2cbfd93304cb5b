// Lint: TypeScript + Vue, and the layering rule (architecture.md): shared imports nothing from
// electron, Node or the DOM; the renderer never imports main or preload; main never imports renderer.
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'http', 'net', 'url', 'worker_threads', 'stream', 'events', 'util'];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.device/**', '.kbench/**', '.corpus/**', '.gl/**', '.whl/**', 'build-electron/**', 'test-results/**', 'models/**', '**/*.d.ts'] },
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', ...nodeBuiltins], message: 'src/shared is pure TS: no electron or Node imports.' },
        { group: ['**/main/**', '**/preload/**', '**/renderer/**', 'vue', 'naive-ui', 'echarts'], message: 'src/shared imports nothing from other layers.' },
      ] }],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'process', 'Buffer'],
    },
  },
  {
    files: ['src/renderer/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/main/**', '**/preload/**'], message: 'The renderer talks to window.workbench only, never to main or preload.' },
        { group: ['electron', ...nodeBuiltins, 'better-sqlite3', 'webgpu'], message: 'The renderer runs in a browser: no Node or electron modules.' },
      ] }],
    },
  },
  {
    files: ['src/main/**', 'src/preload/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/renderer/**'], message: 'main and preload never import the renderer.' },
      ] }],
    },
  },
  {
    // The engine's front door (#12): outside engine/, import it only as '…/engine' (index.ts); tools that
    // check single kernels use '…/engine/kernels'. The engine imports no service, store, host or CLI.
    files: ['tools/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/renderer/**'], message: 'Tools never import the renderer.' },
        { group: ['**/engine/**', '!**/engine/kernels'], message: "Import the engine through its front door ('…/engine', src/main/engine/index.ts); kernel tools may use '…/engine/kernels'." },
      ] }],
    },
  },
  {
    files: ['src/main/**'],
    ignores: ['src/main/engine/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/renderer/**'], message: 'main and preload never import the renderer.' },
        { group: ['**/engine/**'], message: "Import the engine through its front door ('…/engine', src/main/engine/index.ts)." },
      ] }],
    },
  },
  {
    files: ['src/main/engine/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/renderer/**'], message: 'main and preload never import the renderer.' },
        { group: ['**/services', '**/services/**', '**/store', '**/store/**', '**/host/**', '**/cli/**'], message: 'The engine is below the services, store, hosts and CLI: it imports none of them.' },
      ] }],
    },
  },
  {
    files: ['src/main/store/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/renderer/**'], message: 'main and preload never import the renderer.' },
        { group: ['**/engine', '**/engine/**'], message: 'The store keeps runs; it does not run models: no engine imports.' },
      ] }],
    },
  },
  {
    files: ['src/preload/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/main/**', '**/renderer/**'], message: 'The preload imports only electron and src/shared.' },
      ] }],
    },
  },
);
