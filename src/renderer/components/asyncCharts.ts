// The ECharts components outside the Analysis view, loaded on first use so that ECharts (the heaviest
// dependency) stays out of the entry chunk: the app starts without evaluating it. A blank box of the
// chart's height stands in while the chunk loads, so the page does not jump when the chart appears.
import { defineAsyncComponent, defineComponent, h } from 'vue';

const KvChartBox = defineComponent({
  props: { height: { type: Number, default: undefined } },
  setup: (props) => () => h('div', { style: { height: `${props.height ?? 170}px` } }),
});

/** The KV cache by layer and part (KvChart.vue). */
export const KvChart = defineAsyncComponent({ loader: () => import('./KvChart.vue'), loadingComponent: KvChartBox, delay: 0 });

/** A benchmark's result charts (bench/BenchChart.vue). */
export const BenchChart = defineAsyncComponent(() => import('./bench/BenchChart.vue'));
