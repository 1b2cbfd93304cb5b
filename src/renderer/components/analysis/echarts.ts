// ECharts for the Analysis charts, kept out of the entry chunk and out of the Analysis view's chunk:
// ChartFigure loads this module (dynamic import) when its first chart is shown or exported. It
// registers the renderers, chart types and components the Analysis charts use, and renders export
// files off screen in the light theme (SVG through ECharts' SVG renderer, PNG through its canvas
// renderer at 2× pixel density).
import { init, use } from 'echarts/core';
import type { EChartsCoreOption } from 'echarts/core';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import VChart from 'vue-echarts';

use([CanvasRenderer, SVGRenderer, LineChart, BarChart, ScatterChart, GridComponent, LegendComponent, TooltipComponent, MarkLineComponent, TitleComponent]);

export { VChart };

/** An ECharts option rendered as a standalone SVG document. */
export function chartSvg(option: EChartsCoreOption, width: number, height: number): string {
  const chart = init(null as unknown as HTMLElement, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ ...option, animation: false, backgroundColor: '#ffffff' });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** An ECharts option rendered as a PNG data URL (2× pixels, white background). */
export function chartPng(option: EChartsCoreOption, width: number, height: number): string {
  const div = document.createElement('div');
  div.style.width = `${width}px`;
  div.style.height = `${height}px`;
  const chart = init(div, null, { renderer: 'canvas', width, height, devicePixelRatio: 2 });
  try {
    chart.setOption({ ...option, animation: false });
    return chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' });
  } finally {
    chart.dispose();
  }
}
