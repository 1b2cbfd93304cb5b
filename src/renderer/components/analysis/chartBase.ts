// Shared ECharts styling for the Analysis charts: theme colours, axes with names and units, and a
// grid that leaves room for them. Plain option objects (ECharts is set up in exporting.ts/ChartFigure).
import { CATEGORICAL } from './plot';

export function ink(dark: boolean): { text: string; line: string; strong: string } {
  return dark ? { text: '#a0a5b1', line: '#2e3036', strong: '#dcdee3' } : { text: '#5c6270', line: '#e3e4e8', strong: '#1f2329' };
}

export function base(dark: boolean, extra: { legend?: boolean; right?: number; top?: number; bottom?: number; left?: number } = {}) {
  const c = ink(dark);
  return {
    backgroundColor: 'transparent',
    color: CATEGORICAL,
    animation: false,
    textStyle: { fontSize: 11, color: c.text, fontFamily: 'Inter, Helvetica, Arial, sans-serif' },
    grid: { left: extra.left ?? 40, right: extra.right ?? 40, top: extra.top ?? (extra.legend ? 44 : 30), bottom: extra.bottom ?? 30, containLabel: true },
    legend: extra.legend ? { top: 0, left: 0, type: 'scroll', textStyle: { color: c.text, fontSize: 11 }, itemHeight: 8, itemWidth: 14 } : undefined,
    tooltip: { trigger: 'axis' as const },
  };
}

export function axis(dark: boolean, name: string, o: Record<string, unknown> = {}) {
  const c = ink(dark);
  return {
    type: 'value',
    name,
    nameLocation: 'middle',
    nameGap: 24,
    nameTextStyle: { color: c.strong, fontSize: 11 },
    axisLine: { show: true, lineStyle: { color: c.line } },
    axisTick: { show: true },
    axisLabel: { color: c.text },
    splitLine: { lineStyle: { color: c.line } },
    ...o,
  };
}
