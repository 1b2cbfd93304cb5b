import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import './styles.css';

const app = createApp(App).use(router);
// Mount in a task of its own, after the next frame: evaluating the entry chunk and rendering the shell
// are each tens of ms on a slow machine, and together they would hold one frame well over 100 ms. The
// timeout mounts anyway where animation frames do not run (a window not shown yet).
let mounted = false;
function mount(): void {
  if (mounted) return;
  mounted = true;
  app.mount('#app');
}
requestAnimationFrame(() => setTimeout(mount, 0));
setTimeout(mount, 100);
