// The demo page: a model, a backend, weights, an image or a drawing, then the top-5, the latency
// per backend, the layer table and a tap's feature maps. Public API only: images go through
// @cnn/vision's classifier (torchvision's preprocessing) and classes get @cnn/labels' names, as
// in any app. Each model package, each backend and the ImageNet names are lazy imports, so the
// first load carries none of them.
import { buildGraph, loadWeights, summarize, type Backend, type Model, type Tensor } from '@cnn/core';
import { MNIST_LABELS } from '@cnn/labels/mnist';
import { createClassifier, topClasses, type Classification, type ImageClassifier } from '@cnn/vision';
import { BACKBONES, measure, paretoFront, scatter, type BackboneResult } from './backbones.js';
import './style.css';

interface ModelChoice {
  label: string;
  load: () => Promise<Model>;
  /** a drawing canvas instead of a photo, and digit labels */
  digits?: boolean;
}

const MODELS: Record<string, ModelChoice> = {
  lenet5: { label: 'LeNet-5 · digits', load: () => import('@cnn/lenet').then((m) => m.lenet5()), digits: true },
  mobilenet_v3_small: { label: 'MobileNet v3 small', load: () => import('@cnn/mobilenet').then((m) => m.mobilenet_v3_small()) },
  mobilenet_v3_large: { label: 'MobileNet v3 large', load: () => import('@cnn/mobilenet').then((m) => m.mobilenet_v3_large()) },
  efficientnet_b0: { label: 'EfficientNet B0', load: () => import('@cnn/efficientnet').then((m) => m.efficientnet_b0()) },
  resnet18: { label: 'ResNet-18', load: () => import('@cnn/resnet').then((m) => m.resnet18()) },
  resnet50: { label: 'ResNet-50', load: () => import('@cnn/resnet').then((m) => m.resnet50()) },
  convnext_tiny: { label: 'ConvNeXt Tiny', load: () => import('@cnn/convnext').then((m) => m.convnext_tiny()) },
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model');
const backendSelect = $<HTMLSelectElement>('backend');
const tapSelect = $<HTMLSelectElement>('tap');
const preview = $<HTMLCanvasElement>('preview');
const runButton = $<HTMLButtonElement>('run');
const status = $<HTMLParagraphElement>('run-status');
const ctx = preview.getContext('2d', { willReadFrequently: true })!;

const models = new Map<string, Model>();
/** which weights each model holds now, so they load once */
const weightsOf = new Map<string, string>();
const backends = new Map<string, Promise<Backend>>();
const latency = new Map<string, { last: number; best: number }>();
let classifierCache: { key: string; classifier: ImageClassifier } | undefined;
let image: CanvasImageSource | undefined;

for (const [name, choice] of Object.entries(MODELS)) modelSelect.add(new Option(choice.label, name));

function fmt(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${n}`;
}

async function currentModel(): Promise<Model> {
  const name = modelSelect.value;
  let model = models.get(name);
  if (!model) {
    model = await MODELS[name].load();
    models.set(name, model);
  }
  return model;
}

function threadsNote(): string {
  if (globalThis.crossOriginIsolated) return `Cross-origin isolated: the wasm backend shares each layer across ${navigator.hardwareConcurrency > 1 ? `up to ${Math.min(8, navigator.hardwareConcurrency)}` : 'the'} threads.`;
  return 'This page is not cross-origin isolated (no COOP/COEP headers), so the wasm backend runs on one thread.';
}

/** The wasm backend on every core (threads need the worker pool, a separate import). */
async function threadedWasm(): Promise<Backend> {
  const [{ createWasmBackend }, { wasmWorkers }] = await Promise.all([import('@cnn/kernels/wasm'), import('@cnn/kernels/wasm/threads')]);
  return createWasmBackend({ threads: 'auto', workers: wasmWorkers });
}

async function backendFor(kind: string): Promise<Backend> {
  let pending = backends.get(kind);
  if (!pending) {
    pending =
      kind === 'webgpu'
        ? import('@cnn/kernels/webgpu').then((m) => m.createWebGpuBackend({ fallback: threadedWasm }))
        : threadedWasm();
    backends.set(kind, pending);
  }
  const backend = await pending;
  const note = $('backend-note');
  const fallback = (backend as { fallbackReason?: string }).fallbackReason;
  if (kind === 'webgpu' && fallback) note.textContent = `WebGPU unavailable (${fallback}); running on ${backend.name} instead.`;
  else if (kind === 'webgpu') {
    const a = (backend as { adapter?: { description?: string; vendor?: string; architecture?: string } }).adapter;
    note.textContent = `WebGPU on ${a?.description || [a?.vendor, a?.architecture].filter(Boolean).join(' ') || 'this GPU'}.`;
  }
  else {
    const wasm = backend as { variant?: string; threads?: number; threadsFallbackReason?: string };
    note.textContent = `Binary ${wasm.variant}${wasm.threads && wasm.threads > 1 ? `, ${wasm.threads} threads` : ', one thread'}${wasm.threadsFallbackReason ? ` (${wasm.threadsFallbackReason})` : ''}.`;
  }
  return backend;
}

/** Fetches weights with a progress bar (Content-Length permitting). */
async function download(url: string): Promise<Uint8Array> {
  const bar = $<HTMLProgressElement>('weights-progress');
  bar.hidden = false;
  bar.removeAttribute('value');
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`fetching ${url} failed: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const parts: Uint8Array[] = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    if (total) bar.value = received / total;
    $('weights-status').textContent = `${fmt(received)}B${total ? ` of ${fmt(total)}B` : ''}`;
  }
  bar.value = 1;
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.length;
  }
  return bytes;
}

async function ensureWeights(model: Model): Promise<string> {
  const mode = (document.querySelector('input[name=weights]:checked') as HTMLInputElement).value;
  const name = modelSelect.value;
  const url = $<HTMLInputElement>('weights-url').value.trim();
  const file = $<HTMLInputElement>('weights-file').files?.[0];
  const key = mode === 'url' ? `url:${url}` : mode === 'file' && file ? `file:${file.name}:${file.size}` : 'generated';
  if (weightsOf.get(name) === key) return key;
  const statusLine = $('weights-status');
  if (key === 'generated') {
    statusLine.textContent = 'Generating deterministic weights…';
    model.useGeneratedWeights(1);
  } else if (mode === 'url') {
    if (!url) throw new Error('enter the URL of a .safetensors file');
    await loadWeights(model, await download(url));
  } else {
    if (!file) throw new Error('pick a .safetensors file');
    statusLine.textContent = `Reading ${file.name}…`;
    await loadWeights(model, new Uint8Array(await file.arrayBuffer()));
  }
  statusLine.textContent = key === 'generated' ? 'Generated weights (seed 1).' : `Loaded ${key.slice(key.indexOf(':') + 1)}.`;
  weightsOf.set(name, key);
  classifierCache = undefined;
  return key;
}

/** Class names by logit index: MNIST's digits for LeNet, ImageNet's (fetched on demand) otherwise. */
async function labelsFor(name: string): Promise<readonly string[]> {
  return MODELS[name].digits ? MNIST_LABELS : (await import('@cnn/labels/imagenet')).IMAGENET_LABELS;
}

function showTop5(top: readonly Classification[]): void {
  $('top5').replaceChildren(
    ...top.map((c) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = c.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.innerHTML = `<span style="width:${(c.probability * 100).toFixed(1)}%"></span>`;
      const p = document.createElement('span');
      p.className = 'p';
      p.textContent = `${(c.probability * 100).toFixed(1)}%`;
      li.append(label, bar, p);
      return li;
    }),
  );
}

function showLatency(): void {
  $('latency').querySelector('tbody')!.replaceChildren(
    ...[...latency].map(([key, t]) => {
      const [model, backend] = key.split('|');
      const tr = document.createElement('tr');
      tr.innerHTML = `<td>${MODELS[model]?.label ?? model}</td><td>${backend}</td><td>${t.last.toFixed(1)} ms</td><td>${t.best.toFixed(1)} ms</td>`;
      return tr;
    }),
  );
}

function showSummary(model: Model): void {
  const summary = summarize(model);
  $('summary-totals').textContent = `${summary.rows.length} layers · ${summary.totalParameters.toLocaleString('en')} parameters · ${fmt(summary.totalMultiplyAdds)} multiply-adds`;
  $('summary').querySelector('tbody')!.replaceChildren(
    ...summary.rows.map((r) => {
      const tr = document.createElement('tr');
      tr.innerHTML = `<td>${r.name}</td><td>${r.type}</td><td>${r.outputShape.join('×')}</td><td>${r.parameters ? r.parameters.toLocaleString('en') : ''}</td><td>${r.multiplyAdds ? fmt(r.multiplyAdds) : ''}</td><td>${r.receptiveField ?? 'global'}</td>`;
      return tr;
    }),
  );
  const taps = [...buildGraph(model.architecture).outputs.keys()].filter((t) => t !== 'logits');
  const previous = tapSelect.value;
  tapSelect.replaceChildren(...taps.map((t) => new Option(t, t)));
  if (taps.includes(previous)) tapSelect.value = previous;
  const m = model.architecture.metadata;
  $('model-facts').textContent = [
    `${fmt(m.parameters)} parameters`,
    m.gflops ? `${m.gflops} GFLOPS` : '',
    m.top1 ? `torchvision top-1 ${m.top1}%` : '',
    `input ${model.architecture.inputShape.join('×')}`,
  ].filter(Boolean).join(' · ');
}

/** Draws up to 16 channels of an NCHW map, each scaled to its own range. */
function showMaps(map: Tensor): void {
  const [, channels, h, w] = map.shape.length === 4 ? map.shape : [1, map.shape[1], 1, 1];
  const tiles: HTMLCanvasElement[] = [];
  for (let ch = 0; ch < Math.min(16, channels); ch++) {
    const plane = map.data.subarray(ch * h * w, (ch + 1) * h * w);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of plane) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const img = new ImageData(w, h);
    for (let i = 0; i < plane.length; i++) {
      const g = hi > lo ? Math.round((255 * (plane[i] - lo)) / (hi - lo)) : 0;
      img.data.set([g, g, g, 255], 4 * i);
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    canvas.title = `channel ${ch}`;
    tiles.push(canvas);
  }
  $('maps').replaceChildren(...tiles);
}

async function classify(): Promise<void> {
  runButton.disabled = true;
  try {
    const name = modelSelect.value;
    status.textContent = `Loading ${MODELS[name].label}…`;
    const model = await currentModel();
    const weights = await ensureWeights(model);
    const backend = await backendFor(backendSelect.value);
    const tap = tapSelect.value;
    const key = `${name}|${backend.name}|${weights}|${tap}`;
    if (classifierCache?.key !== key) {
      status.textContent = `Compiling for ${backend.name}…`;
      classifierCache?.classifier.dispose();
      const classifier = await createClassifier(model, { backend, labels: await labelsFor(name), taps: tap ? [tap] : [] });
      classifierCache = { key, classifier };
    }
    const { classifier } = classifierCache;
    // the visitor's photo itself (the classifier resizes and crops as torchvision does), else the canvas
    const input = MODELS[name].digits || !image ? preview : (image as ImageBitmap);
    status.textContent = 'Running…';
    const started = performance.now();
    const [out] = await classifier.features(input);
    const ms = performance.now() - started;
    const t = latency.get(`${name}|${backend.name}`);
    latency.set(`${name}|${backend.name}`, { last: ms, best: Math.min(ms, t?.best ?? Infinity) });
    showTop5(topClasses(out.logits.data, 0, out.logits.data.length, 5, classifier.labels));
    showLatency();
    if (tap && out[tap]) showMaps(out[tap]);
    status.textContent = `Done on ${backend.name} in ${ms.toFixed(1)} ms.`;
    document.body.dataset.ran = String(Number(document.body.dataset.ran ?? 0) + 1);
  } catch (e) {
    status.textContent = `Error: ${(e as Error).message}`;
    document.body.dataset.error = (e as Error).message;
  } finally {
    runButton.disabled = false;
  }
}

function sampleImage(): void {
  // A soft synthetic scene until the visitor brings a photo.
  const g = ctx.createLinearGradient(0, 0, 224, 224);
  g.addColorStop(0, '#7fb2e5');
  g.addColorStop(1, '#f3d9a4');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 224, 224);
  ctx.fillStyle = '#c0392b';
  ctx.beginPath();
  ctx.arc(112, 124, 58, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#27ae60';
  ctx.fillRect(106, 44, 12, 28);
}

function drawImage(source: CanvasImageSource, width: number, height: number): void {
  // torchvision's preset: shorter side to the crop size, centre crop.
  const scale = 224 / Math.min(width, height);
  const w = width * scale;
  const h = height * scale;
  ctx.drawImage(source, (224 - w) / 2, (224 - h) / 2, w, h);
}

async function useFile(file: File): Promise<void> {
  const bitmap = await createImageBitmap(file);
  image = bitmap;
  drawImage(bitmap, bitmap.width, bitmap.height);
  status.textContent = `Image ${file.name} (${bitmap.width}×${bitmap.height}).`;
}

function clearDrawing(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, 224, 224);
}

function setUpDrawing(): void {
  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = preview.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * 224, ((e.clientY - r.top) / r.height) * 224] as const;
  };
  preview.addEventListener('pointerdown', (e) => {
    if (!MODELS[modelSelect.value].digits) return;
    drawing = true;
    preview.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  preview.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 18;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  preview.addEventListener('pointerup', () => {
    drawing = false;
  });
}

async function onModelChange(): Promise<void> {
  const digits = MODELS[modelSelect.value].digits === true;
  $('draw-tools').hidden = !digits;
  $('drop-hint').hidden = digits;
  document.body.classList.toggle('digits', digits);
  if (digits) clearDrawing();
  else if (image) drawImage(image, (image as ImageBitmap).width, (image as ImageBitmap).height);
  else sampleImage();
  $('top5').replaceChildren();
  $('maps').replaceChildren();
  showSummary(await currentModel());
}

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void useFile(file);
});
$<HTMLInputElement>('image-file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void useFile(file);
});
$('clear').addEventListener('click', clearDrawing);
let backboneResults: BackboneResult[] = [];

function showBackbones(): void {
  const bytes = Number($<HTMLSelectElement>('precision').value);
  const precision = { 4: 'fp32', 2: 'f16', 1: 'int8' }[bytes] ?? 'fp32';
  const rows = backboneResults.filter((r) => Number.isFinite(r.top1));
  const backendNames = [...new Set(rows.flatMap((r) => Object.keys(r.ms)))];
  const plots: SVGSVGElement[] = backendNames.map((b) =>
    scatter(`top-1 against ${b} latency`, `ms per image on ${b} (log scale)`, rows.map((r) => ({ label: r.name, x: r.ms[b], y: r.top1 }))),
  );
  const download = rows.map((r) => ({ label: r.name, x: (r.parameters * bytes) / 1e6, y: r.top1 }));
  plots.push(scatter(`top-1 against download (${precision})`, `MB of ${precision} weights (log scale)`, download));
  $('plots').replaceChildren(...plots);
  const front = paretoFront(rows.map((r) => ({ x: r.ms[backendNames[0]], y: r.top1 })));
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  $('backbone-table').querySelector('tbody')!.replaceChildren(
    ...rows.map((r, i) => {
      const tr = document.createElement('tr');
      if (front.has(i)) tr.className = 'pareto';
      tr.innerHTML = `<td>${r.name}</td><td>${r.top1.toFixed(1)}%</td><td>${fmt(r.parameters)}</td><td>${fmt(r.multiplyAdds)}</td>` +
        `<td>${((r.parameters * bytes) / 1e6).toFixed(1)} MB</td><td>${r.ms.wasm?.toFixed(1) ?? '–'} ms</td><td>${r.ms.webgpu !== undefined ? `${r.ms.webgpu.toFixed(1)} ms` : '–'}</td>` +
        `<td>${pct(r.fcParameters)}</td><td>${pct(r.fcMultiplyAdds)}</td>`;
      return tr;
    }),
  );
}

async function timeBackbones(): Promise<void> {
  const button = $<HTMLButtonElement>('time-all');
  button.disabled = true;
  const line = $('backbone-status');
  try {
    const asked = new URLSearchParams(location.search).get('backbones')?.split(',');
    const names = asked ? asked.filter((n) => n in BACKBONES) : Object.keys(BACKBONES);
    const backends: Backend[] = [await backendFor('wasm')];
    // ?webgpu=0 times wasm only (software WebGPU makes a slow test)
    if ('gpu' in navigator && new URLSearchParams(location.search).get('webgpu') !== '0') {
      const gpu = await backendFor('webgpu');
      if (gpu.name === 'webgpu') backends.push(gpu);
    }
    const runs = Math.max(1, Number(new URLSearchParams(location.search).get('runs')) || 3);
    backboneResults = await measure(names, backends, runs, (text) => (line.textContent = `Timing ${text}`));
    showBackbones();
    line.textContent = `Timed ${names.length} backbones on ${backends.map((b) => b.name).join(' and ')}: median of ${runs} run${runs > 1 ? 's' : ''} after a warm-up. Highlighted: the Pareto front (nothing is both faster and more accurate).`;
    document.body.dataset.backbones = 'done';
  } catch (e) {
    line.textContent = `Error: ${(e as Error).message}`;
    document.body.dataset.error = (e as Error).message;
  } finally {
    button.disabled = false;
  }
}

$('time-all').addEventListener('click', () => void timeBackbones());
$('precision').addEventListener('change', () => backboneResults.length && showBackbones());
runButton.addEventListener('click', () => void classify());
modelSelect.addEventListener('change', () => void onModelChange());
tapSelect.addEventListener('change', () => void classify());
if (!('gpu' in navigator)) backendSelect.options[1].text = 'WebGPU (not in this browser: falls back to wasm)';
$('threads').textContent = threadsNote();
setUpDrawing();
void onModelChange().then(() => {
  document.body.dataset.ready = 'true';
});
