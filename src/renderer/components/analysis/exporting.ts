// Figure export for the Analysis views: PNG and SVG files, through the repo's download helper for
// text (SVG) and a data-URL link for PNG. Canvas heatmaps export the SVG that plot.ts builds (real text
// axes) and a PNG drawn from it; ECharts charts are re-rendered off screen by echarts.ts (loaded lazily,
// so ECharts stays out of the chunks that only need these helpers).
import { saveText } from '../../composables/download';

export type EchartsModule = typeof import('./echarts');
let echarts: Promise<EchartsModule> | null = null;
/** ECharts with the Analysis charts' parts registered, VChart and the chart export functions. */
export function loadEcharts(): Promise<EchartsModule> {
  echarts ??= import('./echarts').catch((err: unknown) => {
    echarts = null; // a failed load (a chunk not reached) is tried again on the next use
    throw err;
  });
  return echarts;
}

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
