// per-kernel timing of a ResNet-18 step at 64x64 (and LeNet) with the wasm train kernels
import { resnet18 } from '@cnn/resnet';
import { lenet5Architecture } from '@cnn/lenet';
import { AdamW, TrainableNetwork, createWasmTrainKernels, softmaxCrossEntropy, Autodiff } from '@cnn/train';
const which = process.argv[2] ?? 'resnet';
const batch = Number(process.argv[3] ?? 16);
const wtimes = new Map();
const OrigInstance = WebAssembly.Instance;
WebAssembly.Instance = function (m, i) { const inst = new OrigInstance(m, i); const ex = {}; for (const [k, f] of Object.entries(inst.exports)) ex[k] = typeof f === 'function' ? (...a) => { const t = performance.now(); const r = f(...a); wtimes.set(k, (wtimes.get(k) ?? 0) + performance.now() - t); return r; } : f; return { exports: ex }; };
const base = await createWasmTrainKernels({ threads: Number(process.env.THREADS ?? 1) });
const times = new Map();
const wrap = (obj) => { const o = { ...obj }; for (const [k, f] of Object.entries(obj)) if (typeof f === 'function') o[k] = (...a) => { const t = performance.now(); const r = f(...a); times.set(k, (times.get(k) ?? 0) + performance.now() - t); return r; }; return o; };
const kernels = wrap(base);
// wrap Autodiff ops too (their forward parts; backward rules are counted by kernel or as 'rest')
for (const name of ['batchNorm2d', 'add', 'adaptiveAvgPool2d', 'flatten', 'activation', 'pool2d', 'conv2d', 'linear']) {
  const f = Autodiff.prototype[name];
  Autodiff.prototype[name] = function (...a) { const t = performance.now(); const r = f.apply(this, a); times.set('op.' + name, (times.get('op.' + name) ?? 0) + performance.now() - t); return r; };
}
const arch = which === 'resnet' ? resnet18().architecture : lenet5Architecture;
const net = TrainableNetwork.fromArchitecture(arch, { seed: 1, kernels, ...(which === 'resnet' ? { inputShape: [3, 64, 64] } : {}) });
const opt = new AdamW(net.parameters(), { lr: 1e-3, kernels });
const size = which === 'resnet' ? 3 * 64 * 64 : 1024;
const classes = which === 'resnet' ? 1000 : 10;
const x = Float32Array.from({ length: batch * size }, (_, i) => Math.sin(i));
const labels = Array.from({ length: batch }, (_, i) => i % classes);
const phase = { fwd: 0, bwd: 0, opt: 0 };
const step = () => {
  let t = performance.now();
  const loss = softmaxCrossEntropy(net.forward(x, batch, { training: true }), labels);
  phase.fwd += performance.now() - t; t = performance.now();
  net.zeroGrad(); loss.backward();
  phase.bwd += performance.now() - t; t = performance.now();
  opt.step();
  phase.opt += performance.now() - t;
};
step(); times.clear(); wtimes.clear(); phase.fwd = phase.bwd = phase.opt = 0;
const steps = Number(process.argv[4] ?? 2);
const t0 = performance.now();
for (let s = 0; s < steps; s++) step();
const total = performance.now() - t0;
console.log(`${which} batch ${batch}: ${(steps * batch / (total / 1000)).toFixed(1)} img/s, ${(total / steps).toFixed(0)} ms/step; fwd ${(phase.fwd/steps).toFixed(0)} bwd ${(phase.bwd/steps).toFixed(0)} opt ${(phase.opt/steps).toFixed(0)}`);
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(24)} ${(v / steps).toFixed(1)} ms`);
if (process.env.WT) for (const [k, v] of [...wtimes].sort((a, b) => b[1] - a[1])) console.log(`  wasm ${k.padEnd(24)} ${(v / steps).toFixed(1)} ms`);
process.exit(0)
