// Figure export for the Analysis views: PNG and SVG files, through the repo's download helper for
// text (SVG) and a data-URL link for PNG. ECharts charts are re-rendered off screen in the light theme
// (SVG through ECharts' SVG renderer, PNG through its canvas renderer at 2× pixel density); canvas
// heatmaps export the SVG that plot.ts builds (real text axes) and a PNG drawn from it.
import { init, use } from 'echarts/core';
import type { EChartsCoreOption } from 'echarts/core';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { saveText } from '../../composables/download';

use([CanvasRenderer, SVGRenderer, LineChart, BarChart, ScatterChart, GridComponent, LegendComponent, TooltipComponent, MarkLineComponent, TitleComponent]);

export function saveDataUrl(filename: string, url: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export function saveSvg(filename: string, svg: string): void {
  saveText(filename, 'image/svg+xml', svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`);
}

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

/** An SVG document drawn onto a canvas at `scale` and returned as a PNG data URL. */
export async function svgToPng(svg: string, scale = 2): Promise<string> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('The figure could not be drawn as PNG.'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(img.width * scale);
    canvas.height = Math.ceil(img.height * scale);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL('image/png');
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Values painted one pixel a cell, as a PNG data URL (the image inside a large heatmap's SVG). */
export function cellsPng(paintInto: (img: ImageData) => void, width: number, height: number): string {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  paintInto(img);
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}
