// Hash history: the page is served as a single file by both hosts (file:// in Electron, one path in
// the browser host), so routes must live after the '#'.
import { createRouter, createWebHashHistory } from 'vue-router';
import type { RouteRecordRaw } from 'vue-router';
import ChatView from './views/ChatView.vue';
import ModelsView from './views/ModelsView.vue';
// The Analysis view brings ECharts and the canvas renderers: loaded when first opened.
const AnalysisView = () => import('./views/AnalysisView.vue');
import CompareView from './views/CompareView.vue';
import RunsView from './views/RunsView.vue';
import ReportsView from './views/ReportsView.vue';

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/runs' },
  // The open conversation lives in the route, so a reload reopens it.
  { path: '/chat/:id?', name: 'chat', component: ChatView },
  // The Models section has two tabs: the model list and (#/models/bench) the benchmark panel.
  { path: '/models/:tab?', name: 'models', component: ModelsView },
  { path: '/analysis', name: 'analysis', component: AnalysisView },
  { path: '/compare', name: 'compare', component: CompareView },
  // The open run's id lives in the route, so a reload or a shared link reopens its drawer.
  { path: '/runs/:id?', name: 'runs', component: RunsView },
  { path: '/reports', name: 'reports', component: ReportsView },
  { path: '/:unknown(.*)*', redirect: '/runs' },
];

export const router = createRouter({ history: createWebHashHistory(), routes });
