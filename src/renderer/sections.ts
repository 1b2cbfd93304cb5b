// The six sections of the shell, in navigation order; Ctrl/Cmd+<n> jumps to the n-th.
export type SectionKey = 'chat' | 'models' | 'analysis' | 'compare' | 'runs' | 'reports';

export interface Section {
  key: SectionKey;
  label: string;
  path: string;
  /** One line under the section header. */
  blurb: string;
}

export const SECTIONS: readonly Section[] = [
  { key: 'chat', label: 'Chat', path: '/chat', blurb: 'Talk to a loaded model and watch its KV cache and throughput token by token.' },
  { key: 'models', label: 'Models', path: '/models', blurb: 'The checkpoints the engine can load, and what this GPU can hold.' },
  { key: 'analysis', label: 'Analysis', path: '/analysis', blurb: 'Per-head attention maps, head-to-head similarity, GTA grouping and KV/FLOPs of the loaded model on a text.' },
  { key: 'compare', label: 'Compare', path: '/compare', blurb: 'GTA, MLA, MHA and GQA side by side on the same prompt and context lengths.' },
  { key: 'runs', label: 'Runs', path: '/runs', blurb: 'Every chat, benchmark, load and analysis, with parameters, environment and metrics.' },
  { key: 'reports', label: 'Reports', path: '/reports', blurb: 'Shareable write-ups assembled from runs.' },
];

export const MOD_KEY_LABEL = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';
