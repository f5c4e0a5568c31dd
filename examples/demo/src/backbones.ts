// "Which backbone?": times every ImageNet backbone on the visitor's device (generated weights;
// the speed does not depend on their values) and plots torchvision's top-1 against latency and
// against download size, with the Pareto front marked.
import type { Backend, Model } from '@cnn/core';
import { summarize } from '@cnn/core';

type Builder = () => Promise<Model>;

export const BACKBONES: Record<string, Builder> = {
  mobilenet_v3_small: () => import('@cnn/mobilenet').then((m) => m.mobilenet_v3_small()),
  mobilenet_v3_large: () => import('@cnn/mobilenet').then((m) => m.mobilenet_v3_large()),
  mobilenet_v2: () => import('@cnn/mobilenet').then((m) => m.mobilenet_v2()),
  efficientnet_b0: () => import('@cnn/efficientnet').then((m) => m.efficientnet_b0()),
  efficientnet_b1: () => import('@cnn/efficientnet').then((m) => m.efficientnet_b1()),
  efficientnet_b2: () => import('@cnn/efficientnet').then((m) => m.efficientnet_b2()),
  efficientnet_b3: () => import('@cnn/efficientnet').then((m) => m.efficientnet_b3()),
  resnet18: () => import('@cnn/resnet').then((m) => m.resnet18()),
  resnet34: () => import('@cnn/resnet').then((m) => m.resnet34()),
  resnet50: () => import('@cnn/resnet').then((m) => m.resnet50()),
  convnext_tiny: () => import('@cnn/convnext').then((m) => m.convnext_tiny()),
};

export interface BackboneResult {
  name: string;
  top1: number;
  parameters: number;
  multiplyAdds: number;
  /** share of parameters and of multiply-adds in fully connected layers */
  fcParameters: number;
  fcMultiplyAdds: number;
  /** median ms per image, by backend name */
  ms: Record<string, number>;
}

/** Median of `runs` timed passes after one warm-up. */
async function time(model: Model, backend: Backend, runs = 3): Promise<number> {
  const runner = await model.compile(backend);
  try {
    const [c, h, w] = model.architecture.inputShape;
    const x = new Float32Array(c * h * w).fill(0.5);
    await runner.run(x);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await runner.run(x);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
  } finally {
    runner.dispose();
  }
}

export async function measure(
  names: readonly string[],
  backends: readonly Backend[],
  runs: number,
  progress: (text: string) => void,
): Promise<BackboneResult[]> {
  const out: BackboneResult[] = [];
  for (const [i, name] of names.entries()) {
    progress(`${i + 1} of ${names.length}: ${name}…`);
    const model = (await BACKBONES[name]()).useGeneratedWeights(1);
    const summary = summarize(model);
    const fc = summary.rows.filter((r) => r.type === 'linear');
    const ms: Record<string, number> = {};
    for (const backend of backends) ms[backend.name] = await time(model, backend, runs);
    out.push({
      name,
      top1: model.architecture.metadata.top1 ?? NaN,
      parameters: summary.totalParameters,
      multiplyAdds: summary.totalMultiplyAdds,
      fcParameters: fc.reduce((s, r) => s + r.parameters, 0) / summary.totalParameters,
      fcMultiplyAdds: fc.reduce((s, r) => s + r.multiplyAdds, 0) / summary.totalMultiplyAdds,
      ms,
    });
  }
  return out;
}

/** Indices of the points no other point beats on both axes (lower x, higher y). */
export function paretoFront(points: readonly { x: number; y: number }[]): Set<number> {
  const front = new Set<number>();
  points.forEach((p, i) => {
    if (!points.some((q, j) => j !== i && q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y))) front.add(i);
  });
  return front;
}

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A scatter of top-1 against a log-scaled x, the Pareto front joined and labelled. */
export function scatter(title: string, xLabel: string, points: { label: string; x: number; y: number }[]): SVGSVGElement {
  const W = 520;
  const H = 300;
  const m = { l: 44, r: 14, t: 28, b: 40 };
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'plot' });
  const xs = points.map((p) => Math.log10(p.x));
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs) - 0.1, Math.max(...xs) + 0.1];
  const [y0, y1] = [Math.floor(Math.min(...ys) - 1), Math.ceil(Math.max(...ys) + 1)];
  const sx = (x: number) => m.l + ((Math.log10(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  svg.append(el('text', { x: m.l, y: 18, class: 'plot-title' }, title));
  svg.append(el('line', { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, class: 'axis' }));
  svg.append(el('line', { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, class: 'axis' }));
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    for (const mult of [1, 2, 5]) {
      const v = mult * 10 ** e;
      if (Math.log10(v) < x0 || Math.log10(v) > x1) continue;
      svg.append(el('text', { x: sx(v), y: H - m.b + 14, class: 'tick', 'text-anchor': 'middle' }, `${v}`));
    }
  }
  for (let y = y0; y <= y1; y += Math.max(1, Math.round((y1 - y0) / 5))) {
    svg.append(el('text', { x: m.l - 6, y: sy(y) + 4, class: 'tick', 'text-anchor': 'end' }, `${y}`));
  }
  svg.append(el('text', { x: (W + m.l) / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, xLabel));
  svg.append(el('text', { x: 12, y: (H - m.b + m.t) / 2, class: 'tick', transform: `rotate(-90 12 ${(H - m.b + m.t) / 2})`, 'text-anchor': 'middle' }, 'top-1 %'));
  const front = paretoFront(points);
  const frontPoints = points.filter((_, i) => front.has(i)).sort((a, b) => a.x - b.x);
  svg.append(el('polyline', { points: frontPoints.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' '), class: 'front' }));
  points.forEach((p, i) => {
    const onFront = front.has(i);
    svg.append(el('circle', { cx: sx(p.x), cy: sy(p.y), r: onFront ? 5 : 4, class: onFront ? 'dot pareto' : 'dot' }));
    svg.append(el('text', { x: sx(p.x) + 7, y: sy(p.y) - 6, class: onFront ? 'name pareto' : 'name' }, p.label));
  });
  return svg;
}
