// Light/dark theme: follows the OS until the user picks one, then remembers the pick.
// The same choice drives naive-ui (theme + overrides) and our own CSS variables (styles.css).
import { computed, ref, watchEffect } from 'vue';
import { darkTheme } from 'naive-ui';
import type { GlobalThemeOverrides } from 'naive-ui';

export type ThemeMode = 'system' | 'light' | 'dark';
const STORAGE_KEY = 'workbench.theme';

const media = window.matchMedia('(prefers-color-scheme: dark)');
const osDark = ref(media.matches);
media.addEventListener('change', (e) => (osDark.value = e.matches));

function storedMode(): ThemeMode {
  const v = localStorage.getItem(STORAGE_KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export const themeMode = ref<ThemeMode>(storedMode());
export const isDark = computed(() => (themeMode.value === 'system' ? osDark.value : themeMode.value === 'dark'));

export function setThemeMode(mode: ThemeMode): void {
  themeMode.value = mode;
  if (mode === 'system') localStorage.removeItem(STORAGE_KEY);
  else localStorage.setItem(STORAGE_KEY, mode);
}

watchEffect(() => {
  document.documentElement.dataset.theme = isDark.value ? 'dark' : 'light';
});

// Dense desktop sizing (VS Code / Linear): 13px text, 28px controls, small radii.
const common = {
  fontFamily: 'Inter, "Segoe UI", system-ui, -apple-system, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMono: '"JetBrains Mono", "Cascadia Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontSize: '13px',
  fontSizeMedium: '13px',
  fontSizeSmall: '12px',
  fontSizeTiny: '11px',
  heightMedium: '28px',
  heightSmall: '24px',
  heightTiny: '20px',
  borderRadius: '4px',
  borderRadiusSmall: '3px',
};

const lightOverrides: GlobalThemeOverrides = {
  common: {
    ...common,
    primaryColor: '#4a63e0',
    primaryColorHover: '#5d75ea',
    primaryColorPressed: '#3a51c4',
    primaryColorSuppl: '#5d75ea',
    bodyColor: '#ffffff',
    borderColor: '#e3e4e8',
    dividerColor: '#ececef',
  },
  DataTable: { thPaddingSmall: '6px 10px', tdPaddingSmall: '6px 10px', thColor: '#f7f7f9' },
};

const darkOverrides: GlobalThemeOverrides = {
  common: {
    ...common,
    primaryColor: '#7d91ff',
    primaryColorHover: '#93a4ff',
    primaryColorPressed: '#6678e6',
    primaryColorSuppl: '#93a4ff',
    bodyColor: '#1c1d21',
    cardColor: '#212227',
    modalColor: '#23242a',
    popoverColor: '#26272d',
    tableColor: '#1c1d21',
    borderColor: '#2e3036',
    dividerColor: '#2a2c31',
  },
  DataTable: { thPaddingSmall: '6px 10px', tdPaddingSmall: '6px 10px', thColor: '#212227', tdColor: '#1c1d21' },
};

export const naiveTheme = computed(() => (isDark.value ? darkTheme : null));
export const naiveOverrides = computed(() => (isDark.value ? darkOverrides : lightOverrides));
