// Hashes every model's execution plan (ops, slots, arena offsets, weight bytes) for four cases
// (default, batch 2, the first taps, the last tap with the logits), one line per model: run it on
// two builds and diff the output to show a compile refactor changes no plan.
// Usage: ROOT=/path/to/checkout node tools/plan-fingerprint/print.mjs   (needs that checkout built;
// SKIP=a,b and ONLY=a,b pick models; the largest are skipped by default)
import { createHash } from 'node:crypto';
const root = process.env.ROOT ?? new URL('../../', import.meta.url).pathname;
const { MODELS } = await import(`${root}/packages/cli/dist/index.js`);
const skip = new Set((process.env.SKIP ?? 'vgg13,vgg16,vgg19,vgg13_bn,vgg16_bn,vgg19_bn,efficientnet_b5,efficientnet_b6,efficientnet_b7,convnext_large,convnext_base,resnet152,wide_resnet101_2,resnext101_64x4d,resnext101_32x8d').split(','));
const only = process.env.ONLY?.split(',');
const h = (x) => createHash('sha256').update(x).digest('hex').slice(0, 16);
const canon = (v) => {
  if (v instanceof Float32Array) return 'f32:' + h(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
};
for (const m of MODELS) {
  if (skip.has(m.name) || (only && !only.includes(m.name))) continue;
  const model = m.create().useGeneratedWeights(1);
  const cases = [{}, { batch: 2 }];
  const taps = [...model.graph.outputs.keys()].filter((k) => k !== 'logits');
  if (taps.length) cases.push({ outputs: taps.slice(0, 3) }, { outputs: [taps[taps.length - 1], 'logits'] });
  const parts = cases.map((opts) => h(JSON.stringify(canon(model.plan(opts)))));
  console.log(m.name.padEnd(22), parts.join(' '));
}
