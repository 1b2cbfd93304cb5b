// UI responsiveness benchmark for the Analysis model view (docs/analysis.md: "the UI stays responsive —
// no frame over 100 ms — while 512 thumbnails are shown", 32 layers × 16 maps as PLM-1.8B has).
//
//   node tools/bench/ui-frames.mjs [--out FILE] [--tokens 256] [--hover-s 5] [--profile] [--keep]
//                                  [--data-dir DIR --run ID] [--build] [--inject-css CSS]
//
// 1. Writes a seeded random-weight Llama checkpoint with 32 layers × 16 heads (hidden 256, head_dim 16,
//    4 KV heads, vocab 512, f32 safetensors in the HF naming) and records a real analysis of --tokens
//    seeded random ids with the CLI (`npm run cli -- analyze … --per-layer off --json -`) into a
//    temporary data dir. `--data-dir DIR --run ID` reuses a recorded run instead.
// 2. Starts the browser host (out/main/serve.js; `--build` runs electron-vite first when out/ is stale)
//    on that data dir and opens #/analysis?run=<id>&tab=maps in Debian's Chromium (headless, as the e2e
//    harness does). A requestAnimationFrame loop and PerformanceObservers ('longtask',
//    'long-animation-frame') are injected before navigation.
// 3. Phases: load (navigation until all 32 layer canvases are painted), scroll (mouse wheel over the
//    model view, top to bottom and back), hover (the mouse sweeps across the thumbnails for --hover-s).
//    Prints frames, max / p99 / median frame interval, frames over 100 ms, time to all painted, and the
//    long tasks; writes the JSON to --out and a screenshot of the model view beside it.
//    `--profile` also records a CDP CPU profile of the load phase and lists the renderer functions with
//    the most self time (the renderer bundle is not minified, so names are the source's).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_LINE = /GTA Workbench is served at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{32}))/;

const { values: opt } = parseArgs({
  options: {
    out: { type: 'string' },
    tokens: { type: 'string', default: '256' },
    'hover-s': { type: 'string', default: '5' },
    'data-dir': { type: 'string' },
    run: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    'inject-css': { type: 'string' },
    width: { type: 'string', default: '1440' },
    height: { type: 'string', default: '900' },
  },
});

/** .bench/ when git ignores it, else /tmp (the tree must stay clean for the lead's commits). */
function defaultOut() {
  const r = spawnSync('git', ['check-ignore', '-q', '.bench/ui-frames.json'], { cwd: ROOT });
  return r.status === 0 ? join(ROOT, '.bench/ui-frames.json') : join(tmpdir(), 'gta-bench/ui-frames.json');
}
const OUT = resolve(opt.out ?? defaultOut());
const OUT_DIR = dirname(OUT);
mkdirSync(OUT_DIR, { recursive: true });

const LAYERS = 32;
const HEADS = 16;
const CONFIG = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 512, hidden_size: 256, intermediate_size: 256,
  num_hidden_layers: LAYERS, num_attention_heads: HEADS, num_key_value_heads: 4, head_dim: 16, hidden_act: 'silu',
  rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 1024, tie_word_embeddings: false, torch_dtype: 'float32',
  bos_token_id: 1, eos_token_id: 2,
};

// ---------- 1. checkpoint and analysis run ----------
function rng(seed) {
  // mulberry32, as test/helpers/checkpoint.ts
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function writeCheckpoint(dir) {
  const c = CONFIG;
  const hd = c.head_dim;
  const specs = [['model.embed_tokens.weight', [c.vocab_size, c.hidden_size]]];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      [`${p}input_layernorm.weight`, [c.hidden_size]],
      [`${p}self_attn.q_proj.weight`, [c.num_attention_heads * hd, c.hidden_size]],
      [`${p}self_attn.k_proj.weight`, [c.num_key_value_heads * hd, c.hidden_size]],
      [`${p}self_attn.v_proj.weight`, [c.num_key_value_heads * hd, c.hidden_size]],
      [`${p}self_attn.o_proj.weight`, [c.hidden_size, c.num_attention_heads * hd]],
      [`${p}post_attention_layernorm.weight`, [c.hidden_size]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, c.hidden_size]],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, c.hidden_size]],
      [`${p}mlp.down_proj.weight`, [c.hidden_size, c.intermediate_size]],
    );
  }
  specs.push(['model.norm.weight', [c.hidden_size]], ['lm_head.weight', [c.vocab_size, c.hidden_size]]);
  const rand = rng(1);
  const header = { __metadata__: { format: 'pt' } };
  const blobs = [];
  let off = 0;
  for (const [name, shape] of specs) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    // As randomTensors(): norms near 1, matrices scaled by 1/sqrt(fan_in). q/k get a larger scale so the
    // maps are peaked and differ between heads (more like a trained model than near-uniform rows).
    const scale = shape.length === 1 ? 0.2 : (/[qk]_proj/.test(name) ? 4 : 1.5) / Math.sqrt(shape[1]);
    for (let i = 0; i < n; i++) data[i] = (shape.length === 1 ? 1 : 0) + (rand() * 2 - 1) * scale;
    const b = Buffer.from(data.buffer);
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, Buffer.from(json), ...blobs]));
}

function recordRun(work) {
  const model = join(work, 'llama-32x16');
  const dataDir = join(work, 'data');
  writeCheckpoint(model);
  const rand = rng(7);
  const ids = Array.from({ length: Number(opt.tokens) }, () => 3 + Math.floor(rand() * (CONFIG.vocab_size - 3)));
  const args = [join(ROOT, 'scripts/cli.mjs'), 'analyze', '--model', model, '--ids', ids.join(','), '--data-dir', dataDir, '--per-layer', 'off', '--json', '-'];
  console.error(`analysing ${ids.length} tokens on ${LAYERS} layers × ${HEADS} maps (npm run cli -- analyze … --per-layer off) …`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`analyze exited ${r.status}`);
  const line = r.stdout.trim().split('\n').filter((x) => x.startsWith('{')).pop();
  const summary = JSON.parse(line);
  console.error(`analysis recorded as run ${summary.runId} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${summary.backend.kind} ${summary.backend.device})`);
  return { dataDir, runId: summary.runId, analysis: { tokens: summary.input.tokens, layers: summary.model.numLayers, maps: summary.model.numMaps, backend: `${summary.backend.kind} ${summary.backend.device}`, timingsMs: summary.timings, thumbSide: summary.settings.thumbSide } };
}

// ---------- 2. browser host ----------
async function startServer(dataDir) {
  if (opt.build) {
    const { ensureBuilt } = await import('../../scripts/serve.mjs');
    if (!ensureBuilt()) throw new Error('build failed');
  } else {
    const { buildReason } = await import('../../scripts/serve.mjs');
    const why = buildReason();
    if (why && !existsSync(join(ROOT, 'out/main/serve.js'))) throw new Error(`out/ is not built (${why}): npm run build, or pass --build`);
    if (why) console.error(`note: out/ is stale (${why}); measuring the existing build (pass --build to rebuild first)`);
  }
  const proc = spawn(process.execPath, [join(ROOT, 'out/main/serve.js'), '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve.js printed no URL within 60 s\n${stdout}\n${stderr}`)), 60_000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = READY_LINE.exec(stdout);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve.js exited (${code})\n${stdout}\n${stderr}`));
    });
  });
  const stop = () =>
    new Promise((done) => {
      if (proc.exitCode !== null) return done();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => (clearTimeout(kill), done()));
      proc.kill('SIGTERM');
    });
  return { url, stop };
}

// ---------- in-page instrumentation (runs before the app's scripts) ----------
function instrument() {
  const w = window;
  w.__bench = { frames: [], longtasks: [], loafs: [], requests: [], modelViewAt: null, marker: null };
  // A named busy loop of ~4 ms: its samples in the CPU profile align the profile's clock with performance.now().
  w.__bench.marker = (function benchClockMarker() {
    const t = performance.now();
    while (performance.now() - t < 4);
    return t;
  })();
  // API calls (POST /api/<method>): when each was sent and when its response arrived.
  const realFetch = w.fetch.bind(w);
  w.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    const m = /\/api\/([A-Za-z]+)/.exec(url);
    if (!m) return realFetch(input, init);
    const rec = { method: m[1], params: typeof init?.body === 'string' ? init.body.slice(0, 80) : '', sent: performance.now(), answered: null };
    w.__bench.requests.push(rec);
    return realFetch(input, init).then((r) => ((rec.answered = performance.now()), r));
  };
  const loop = (t) => {
    w.__bench.frames.push(t);
    if (w.__bench.modelViewAt === null && document.querySelector('[data-testid="thumbs-layer-0"]')) w.__bench.modelViewAt = performance.now();
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__bench.longtasks.push({ start: e.startTime, duration: e.duration, name: e.name, attribution: (e.attribution ?? []).map((a) => a.containerType + ':' + a.containerSrc + a.containerName) });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* not supported */
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.__bench.loafs.push({
          start: e.startTime,
          duration: e.duration,
          blockingDuration: e.blockingDuration,
          renderStart: e.renderStart,
          styleAndLayoutStart: e.styleAndLayoutStart,
          scripts: (e.scripts ?? []).map((s) => ({ invoker: s.invoker, invokerType: s.invokerType, fn: s.sourceFunctionName, url: s.sourceURL.split('/').pop(), char: s.sourceCharPosition, start: s.startTime, duration: s.duration, forcedStyleAndLayout: s.forcedStyleAndLayoutDuration })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {
    /* not supported */
  }
}

// ---------- CPU profile → what ran inside each long animation frame ----------
/** Adds `cpu` to each long frame: the renderer functions with the most inclusive and self time in it. */
function attributeFrames(profile, markerT, frames) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n) => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.split('/').pop()}:${f.lineNumber + 1}` : ''}`;
  };
  // Sample times in ms on the profile's clock.
  const times = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d) / 1000);
  // The first sample inside the marker loop ≈ its start (within one sampling interval).
  let offset = null;
  for (let i = 0; i < profile.samples.length && offset === null; i++) {
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      if (byId.get(id).callFrame.functionName === 'benchClockMarker') {
        offset = markerT - times[i];
        break;
      }
    }
  }
  if (offset === null) return;
  for (const fr of frames) {
    const incl = new Map();
    const self = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
      const at = times[i] + offset;
      if (at < fr.startMs || at > fr.startMs + fr.durationMs) continue;
      const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const leaf = byId.get(profile.samples[i]);
      self.set(name(leaf), (self.get(name(leaf)) ?? 0) + dt);
      const seen = new Set();
      for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id);
        if (!/\/assets\//.test(n.callFrame.url)) continue;
        const k = name(n);
        if (seen.has(k)) continue;
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + dt);
      }
    }
    const top = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([fn, ms]) => `${fn} ${ms.toFixed(1)} ms`);
    fr.cpu = { inclusive: top(incl, 25), self: top(self, 10) };
  }
}

// ---------- figures ----------
function stats(frames, from, to) {
  const ts = frames.filter((t) => t >= from && t <= to);
  const iv = [];
  for (let i = 1; i < ts.length; i++) iv.push(ts[i] - ts[i - 1]);
  // The gap from the phase's start to its first frame counts too (a frame held at the boundary).
  if (ts.length && ts[0] - from > 0) iv.push(ts[0] - from);
  const s = [...iv].sort((a, b) => a - b);
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null);
  const r = (x) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    durationMs: r(to - from),
    frames: ts.length,
    maxMs: r(s.length ? s[s.length - 1] : null),
    p99Ms: r(q(0.99)),
    medianMs: r(q(0.5)),
    over50: iv.filter((x) => x > 50).length,
    over100: iv.filter((x) => x > 100).length,
    worst: [...iv].map((x, i) => ({ x, i })).sort((a, b) => b.x - a.x).slice(0, 5).map((e) => r(e.x)),
  };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'gta-ui-frames-'));
  let server = null;
  let browser = null;
  try {
    let dataDir = opt['data-dir'];
    let runId = opt.run;
    let analysis = null;
    if (!dataDir || !runId) ({ dataDir, runId, analysis } = recordRun(work));
    server = await startServer(dataDir);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: Number(opt.width), height: Number(opt.height) }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.addInitScript(instrument);
    // Experiments only: a style sheet added to the page before the app runs (e.g. to test a CSS fix).
    if (opt['inject-css']) await page.addInitScript((css) => document.addEventListener('DOMContentLoaded', () => document.head.append(Object.assign(document.createElement('style'), { textContent: css }))), opt['inject-css']);
    let cdp = null;
    if (opt.profile) {
      cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }

    // ----- load -----
    await page.goto(`${server.url}#/analysis?run=${runId}&tab=maps`);
    const navStart = 0; // performance.now() origin of the document
    await page.getByTestId('thumbs-layer-0').waitFor({ timeout: 60_000 });
    // Cheap paint check (one pixel row through each canvas's middle), polled every 50 ms, so the check
    // itself does not hold frames; the full painted() share is checked once at the end.
    const paintedAt = await page.evaluate(
      ({ L }) =>
        new Promise((done, fail) => {
          const at = new Array(L).fill(null);
          const deadline = performance.now() + 120_000;
          const tick = () => {
            for (let l = 0; l < L; l++) {
              if (at[l] !== null) continue;
              const c = document.querySelector(`[data-testid="thumbs-layer-${l}"]`);
              if (!c || !c.width || !c.height) continue;
              const d = c.getContext('2d').getImageData(0, Math.floor(c.height / 2), c.width, 1).data;
              let n = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
              if (n / c.width > 0.5) at[l] = performance.now();
            }
            if (at.every((x) => x !== null)) return done(at);
            if (performance.now() > deadline) return fail(new Error(`not all layers painted: ${at.map((x, l) => (x === null ? l : '')).filter(String)}`));
            setTimeout(tick, 50);
          };
          tick();
        }),
      { L: LAYERS },
    );
    const loadEnd = Math.max(...paintedAt);
    let profile = null;
    if (cdp) profile = (await cdp.send('Profiler.stop')).profile;

    // ----- scroll: the model view's own scroller (max-height 620 px), top to bottom and back -----
    const grid = page.getByTestId('model-view').locator('.grid');
    const gb = await grid.boundingBox();
    const scrollInfo = await grid.evaluate((el) => ({ scrollHeight: el.scrollHeight, clientHeight: el.clientHeight }));
    await page.mouse.move(gb.x + gb.width / 2, gb.y + gb.height / 2);
    const scrollStart = await page.evaluate(() => performance.now());
    const wheelTo = async (down) => {
      for (let i = 0; i < 200; i++) {
        await page.mouse.wheel(0, down ? 120 : -120);
        await page.waitForTimeout(16);
        const top = await grid.evaluate((el) => el.scrollTop);
        if (down ? top >= scrollInfo.scrollHeight - scrollInfo.clientHeight - 1 : top <= 0) break;
      }
    };
    await wheelTo(true);
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(OUT_DIR, 'ui-frames-model-view-bottom.png') });
    await wheelTo(false);
    await page.waitForTimeout(200);
    const scrollEnd = await page.evaluate(() => performance.now());

    // ----- hover: sweep the mouse across the thumbnails (tooltip follows) for --hover-s -----
    const first = await page.getByTestId('thumbs-layer-0').boundingBox();
    const hoverStart = await page.evaluate(() => performance.now());
    const hoverMs = Number(opt['hover-s']) * 1000;
    const visibleRows = Math.max(1, Math.floor((gb.y + gb.height - first.y) / (first.height + 4)));
    let moves = 0;
    for (let row = 0; (await page.evaluate(() => performance.now())) - hoverStart < hoverMs; row++) {
      const y = first.y + (row % visibleRows) * (first.height + 4) + first.height / 2;
      const [x0, x1] = row % 2 ? [first.x + first.width - 2, first.x + 2] : [first.x + 2, first.x + first.width - 2];
      await page.mouse.move(x0, y);
      await page.mouse.move(x1, y, { steps: 40 });
      moves += 41;
    }
    const tipSeen = await page.getByTestId('thumb-tip').isVisible().catch(() => false);
    const hoverEnd = await page.evaluate(() => performance.now());

    // Screenshot of the model view with all 512 thumbnails painted (scrolled to the top).
    await page.mouse.move(5, 5);
    await page.waitForTimeout(200);
    await page.getByTestId('model-view').screenshot({ path: join(OUT_DIR, 'ui-frames-model-view.png') });
    await page.screenshot({ path: join(OUT_DIR, 'ui-frames-page.png') });

    const fullPainted = await page.evaluate(({ L }) => {
      const out = [];
      for (let l = 0; l < L; l++) {
        const c = document.querySelector(`[data-testid="thumbs-layer-${l}"]`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        out.push(n / (c.width * c.height));
      }
      return { min: Math.min(...out), canvas: (() => { const c = document.querySelector('[data-testid="thumbs-layer-0"]'); return `${c.width}×${c.height}`; })() };
    }, { L: LAYERS });
    const bench = await page.evaluate(() => window.__bench);
    const env = await page.evaluate(() => ({ ua: navigator.userAgent, cores: navigator.hardwareConcurrency, dpr: devicePixelRatio, gl: (() => { const c = document.createElement('canvas').getContext('webgl'); if (!c) return 'no WebGL'; const e = c.getExtension('WEBGL_debug_renderer_info'); return e ? c.getParameter(e.UNMASKED_RENDERER_WEBGL) : 'WebGL'; })() }));

    // ----- figures -----
    const mounted = bench.modelViewAt ?? navStart;
    const phases = {
      load: stats(bench.frames, navStart, loadEnd),
      boot: stats(bench.frames, navStart, mounted),
      thumbs: stats(bench.frames, mounted, loadEnd),
      scroll: stats(bench.frames, scrollStart, scrollEnd),
      hover: stats(bench.frames, hoverStart, hoverEnd),
      all: stats(bench.frames, navStart, hoverEnd),
    };
    const phaseOf = (t) => (t < mounted ? 'boot' : t < loadEnd ? 'thumbs' : t >= scrollStart && t < scrollEnd ? 'scroll' : t >= hoverStart && t < hoverEnd ? 'hover' : 'between');
    const r1 = (x) => Math.round(x * 10) / 10;
    const longtasks = bench.longtasks.map((t) => ({ phase: phaseOf(t.start), startMs: r1(t.start), durationMs: r1(t.duration) }));
    const loafs = bench.loafs
      .filter((f) => f.duration > 100 || f.blockingDuration > 0)
      .map((f) => ({
        phase: phaseOf(f.start),
        startMs: r1(f.start),
        durationMs: r1(f.duration),
        blockingMs: r1(f.blockingDuration),
        renderMs: f.renderStart ? r1(f.start + f.duration - f.renderStart) : 0,
        scripts: f.scripts.map((s) => ({ invoker: s.invoker, fn: s.fn, at: `${s.url}:${s.char}`, durationMs: r1(s.duration), forcedLayoutMs: r1(s.forcedStyleAndLayout) })),
      }));
    let hotFunctions = null;
    if (profile) attributeFrames(profile, bench.marker, loafs);
    if (profile) {
      const self = new Map();
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const dts = profile.timeDeltas;
      profile.samples.forEach((id, i) => {
        const n = byId.get(id);
        const f = n.callFrame;
        const key = `${f.functionName || '(anonymous)'} ${f.url ? f.url.split('/').pop() + ':' + (f.lineNumber + 1) : ''}`.trim();
        self.set(key, (self.get(key) ?? 0) + (dts[i] ?? 0) / 1000);
      });
      hotFunctions = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([fn, ms]) => ({ fn, selfMs: r1(ms) }));
    }
    const result = {
      benchmark: 'ui-frames: Analysis model view, 32 layers × 16 maps = 512 thumbnails',
      requirement: 'no frame over 100 ms while 512 thumbnails are shown (docs/analysis.md)',
      date: new Date().toISOString(),
      machine: {
        note: 'headless Chromium (--disable-gpu, software compositing, no GPU) on a CPU-only machine; figures are a worst case, not a desktop',
        cpus: (await import('node:os')).cpus().length,
        cpuModel: (await import('node:os')).cpus()[0]?.model,
        browser: env.ua.match(/Chrome\/[\d.]+/)?.[0],
        navigatorCores: env.cores,
        webgl: env.gl,
        viewport: `${opt.width}×${opt.height} @${env.dpr}x`,
      },
      run: { runId, dataDir, ...(analysis ?? {}) },
      injectedCss: opt['inject-css'] ?? null,
      canvas: fullPainted.canvas,
      modelViewMountedMs: bench.modelViewAt === null ? null : r1(bench.modelViewAt),
      allPaintedMs: r1(loadEnd),
      paintedAtMs: paintedAt.map(r1),
      minPaintedShare: r1(fullPainted.min * 1000) / 1000,
      scroll: { scrollHeight: scrollInfo.scrollHeight, clientHeight: scrollInfo.clientHeight },
      hover: { mouseMoves: moves, tooltipShown: tipSeen },
      phases,
      longtasks,
      longAnimationFrames: loafs,
      hotFunctionsDuringLoad: hotFunctions,
      apiRequests: bench.requests.map((q) => ({ method: q.method, params: q.params, sentMs: r1(q.sent), answeredMs: q.answered === null ? null : r1(q.answered) })),
      pageErrors: errors,
    };
    writeFileSync(OUT, JSON.stringify(result, null, 2));

    const line = (name, p) => `  ${name.padEnd(7)} ${String(p.frames).padStart(5)} frames in ${(p.durationMs / 1000).toFixed(1).padStart(5)} s · max ${p.maxMs} ms · p99 ${p.p99Ms} ms · median ${p.medianMs} ms · over 100 ms: ${p.over100} (over 50 ms: ${p.over50}) · worst ${p.worst.join(', ')}`;
    console.log(`ui-frames: ${result.run.layers ?? LAYERS} layers × ${result.run.maps ?? HEADS} maps = 512 thumbnails, ${result.run.tokens ?? '?'} tokens, run ${runId}`);
    console.log(`  ${result.machine.note}; ${result.machine.cpus} CPUs (${result.machine.cpuModel}), ${result.machine.browser}, ${result.machine.viewport}, canvas ${result.canvas}`);
    console.log(`  model view mounted ${result.modelViewMountedMs} ms, all 32 layers painted ${result.allPaintedMs} ms after navigation (min painted share ${result.minPaintedShare})`);
    for (const [k, p] of Object.entries(phases)) console.log(line(k, p));
    console.log(`  long tasks (${longtasks.length}): ${longtasks.map((t) => `${t.phase} ${t.durationMs}`).join(', ') || 'none'}`);
    for (const f of loafs.filter((x) => x.durationMs > 100)) {
      console.log(`  long animation frame ${f.durationMs} ms (${f.phase} @${f.startMs}, render ${f.renderMs} ms): ${f.scripts.map((s) => `${s.invoker} ${s.fn || ''} ${s.durationMs} ms (forced layout ${s.forcedLayoutMs})`).join('; ')}`);
      if (f.cpu) console.log(`      inclusive: ${f.cpu.inclusive.slice(0, 10).join('; ')}\n      self: ${f.cpu.self.slice(0, 6).join('; ')}`);
    }
    if (hotFunctions) console.log(`  CPU self time during load: ${hotFunctions.slice(0, 8).map((h) => `${h.fn} ${h.selfMs} ms`).join('; ')}`);
    if (errors.length) console.log(`  page errors: ${errors.join(' | ')}`);
    console.log(`  written: ${OUT}; screenshot: ${join(OUT_DIR, 'ui-frames-model-view.png')}`);
    console.log(`  requirement (no frame over 100 ms): ${phases.all.over100 === 0 ? 'met' : `NOT met (${phases.all.over100} frames)`}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (!opt.keep) rmSync(work, { recursive: true, force: true });
    else console.error(`kept ${work}`);
  }
}

await main();
