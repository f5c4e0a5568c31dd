// The layer table: output shape, parameters, multiply-adds and receptive field per layer,
// with totals that count what torchvision counts (parameters(), conv and linear MACs).
import type { Graph, GraphNode } from './graph.js';
import { Model, buildGraph } from './model.js';

export interface SummaryRow {
  readonly name: string;
  readonly type: string;
  /** [c, h, w] or [features], batch excluded */
  readonly outputShape: readonly number[];
  readonly parameters: number;
  readonly multiplyAdds: number;
  /** side of the input window one output value sees; null once pooling is global */
  readonly receptiveField: number | null;
}

export interface Summary {
  readonly rows: readonly SummaryRow[];
  readonly totalParameters: number;
  readonly totalMultiplyAdds: number;
  readonly inputShape: readonly number[];
}

interface Field {
  size: number;
  jump: number;
  global: boolean;
}

/**
 * The layer table of a model (at its native input size, or `inputSize` [h, w]) or of a graph. A
 * function rather than a Model method, so that apps that never print one do not bundle it.
 */
export function summarize(model: Model | Graph, inputSize?: readonly [number, number]): Summary {
  const graph = model instanceof Model ? (inputSize ? buildGraph(model.architecture, model['shapeFor'](inputSize)) : model['graph']) : model;
  const trainable = new Map(graph.parameters.filter((p) => p.trainable).map((p) => [p.key, p.shape.reduce((a, b) => a * b, 1)]));
  const fields = new Map<number, Field>();
  const rows: SummaryRow[] = [];
  let totalParameters = 0;
  let totalMultiplyAdds = 0;
  for (const node of graph.nodes) {
    const inField = node.inputs.length > 0 ? mergeFields(node.inputs.map((i) => fields.get(i)!)) : { size: 1, jump: 1, global: false };
    const field = propagate(node, inField);
    fields.set(node.id, field);
    if (node.op.type === 'input') continue;
    let parameters = 0;
    if ('name' in node.op) {
      for (const [key, n] of trainable) if (key.startsWith(`${node.op.name}.`) && !key.slice(node.op.name.length + 1).includes('.')) parameters += n;
    }
    if (node.op.type === 'layerScale') parameters += trainable.get(node.op.key) ?? 0;
    const multiplyAdds = macs(node, graph);
    totalParameters += parameters;
    totalMultiplyAdds += multiplyAdds;
    rows.push({
      name: node.label,
      type: node.op.type === 'activation' ? node.op.fn : node.op.type,
      outputShape: node.shape,
      parameters,
      multiplyAdds,
      receptiveField: field.global ? null : field.size,
    });
  }
  // Parameters declared outside layers (custom ops) still count.
  const counted = new Set<string>();
  for (const node of graph.nodes) {
    if (node.op.type === 'layerScale') counted.add(node.op.key);
    if ('name' in node.op) for (const key of trainable.keys()) if (key.startsWith(`${node.op.name}.`) && !key.slice(node.op.name.length + 1).includes('.')) counted.add(key);
  }
  for (const [key, n] of trainable) if (!counted.has(key)) totalParameters += n;
  return { rows, totalParameters, totalMultiplyAdds, inputShape: graph.nodes[0].shape };
}

function mergeFields(fs: Field[]): Field {
  return { size: Math.max(...fs.map((f) => f.size)), jump: Math.max(...fs.map((f) => f.jump)), global: fs.some((f) => f.global) };
}

function propagate(node: GraphNode, f: Field): Field {
  const op = node.op;
  if (op.type === 'conv2d' || op.type === 'pool2d') {
    const dilation = op.type === 'conv2d' ? op.dilation[0] : 1;
    const k = dilation * (op.kernel[0] - 1) + 1;
    return { size: f.size + (k - 1) * f.jump, jump: f.jump * op.stride[0], global: f.global };
  }
  if (op.type === 'adaptiveAvgPool2d' || op.type === 'flatten' || op.type === 'linear') {
    return { ...f, global: f.global || op.type !== 'adaptiveAvgPool2d' || op.size[0] === 1 };
  }
  return f;
}

function macs(node: GraphNode, graph: Graph): number {
  const op = node.op;
  if (op.type === 'conv2d') {
    const [c, h, w] = node.shape;
    return c * h * w * (op.inChannels / op.groups) * op.kernel[0] * op.kernel[1];
  }
  if (op.type === 'linear') return op.inFeatures * op.outFeatures;
  if (op.type === 'pointwiseLinear') return op.inFeatures * op.outFeatures * (node.shape[1] ?? 1) * (node.shape[2] ?? 1);
  void graph;
  return 0;
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A plain-text table for terminals. */
export function formatSummary(title: string, s: Summary): string {
  const header = ['layer', 'type', 'output', 'params', 'mult-adds', 'RF'];
  const body = s.rows.map((r) => [
    r.name,
    r.type,
    `[${r.outputShape.join(', ')}]`,
    r.parameters ? fmtCount(r.parameters) : '',
    r.multiplyAdds ? fmtMacs(r.multiplyAdds) : '',
    r.receptiveField === null ? 'global' : String(r.receptiveField),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [`${title}  input [${s.inputShape.join(', ')}]`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  out.push('');
  // Where parameters and compute live: they are rarely the same layers (AlexNet's FC6 holds
  // 62% of the parameters and under 6% of the multiply-adds).
  const share = (n: number, total: number) => `${((100 * n) / (total || 1)).toFixed(1)}%`;
  const top = (key: 'parameters' | 'multiplyAdds', total: number, fmt: (n: number) => string) =>
    [...s.rows]
      .filter((r) => r[key] > 0)
      .sort((a, b) => b[key] - a[key])
      .slice(0, 3)
      .map((r) => `${r.name} ${fmt(r[key])} (${share(r[key], total)})`)
      .join(', ');
  out.push(`most parameters: ${top('parameters', s.totalParameters, fmtCount)}`);
  out.push(`most multiply-adds: ${top('multiplyAdds', s.totalMultiplyAdds, fmtMacs)}`);
  out.push(`total parameters: ${fmtCount(s.totalParameters)}`);
  out.push(`total multiply-adds: ${fmtCount(s.totalMultiplyAdds)} (${(s.totalMultiplyAdds / 1e9).toFixed(3)} G)`);
  return out.join('\n');
}
