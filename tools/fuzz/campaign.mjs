#!/usr/bin/env node
// The long fuzz campaign for the .safetensors and .npy readers of the built @cnn/core: seeded
// valid files and mutations of them (cases.mjs), each checked against an independent oracle
// (oracle.py: numpy's np.load, and a strict safetensors reader written from the Rust crate's
// rules). Prints cases run, accepted, rejected by class, crashes, hangs and silent wrong values.
// Cases are read in a worker thread: one that takes over 1 s counts as a hang, and one that never
// returns is stopped by a 60 s watchdog and counted too, and the campaign goes on.
//
//   node tools/fuzz/campaign.mjs [--cases N] [--seconds S] [--seed K] [--reader npy|safetensors] [--json]
//
// Needs `pnpm exec turbo run build --filter @cnn/core` first and /usr/bin/python3 with numpy.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mutateNpy, mutateSafetensors, rng, validNpy, validSafetensors } from './cases.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const { ShapeError, WeightsError, parseNpy, parseSafetensors, readFloat32 } = await import(new URL('../../packages/core/dist/index.js', import.meta.url).href);

const USAGE = 'usage: node tools/fuzz/campaign.mjs [--cases N (default 100000 per reader)] [--seconds S (default 600 per reader)] [--seed K (default 1)] [--reader npy|safetensors] [--json]';
let options;
try {
  options = parseArgs({
    options: {
      cases: { type: 'string', default: '100000' },
      seconds: { type: 'string', default: '600' },
      seed: { type: 'string', default: '1' },
      reader: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const integer = (name, min) => {
  const v = Number(options[name]);
  if (!/^\d+$/.test(options[name]) || v < min) {
    console.error(`--${name} must be an integer >= ${min}, got '${options[name]}'\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const maxCases = integer('cases', 1);
const seconds = integer('seconds', 1);
const seed = integer('seed', 0);
if (options.reader !== undefined && !['npy', 'safetensors'].includes(options.reader)) {
  console.error(`--reader must be npy or safetensors, got '${options.reader}'`);
  process.exit(2);
}

const HANG_MS = 1000;
/** a batch whose current case runs this long is stopped and that case counted as a hang */
const WATCHDOG_MS = 60_000;
const BATCH = 2000;
const CANONICAL_NAN = new Uint8Array(new Uint32Array([0x7fc00000]).buffer);

/** SHA-256 of float32 values, every NaN written as 0x7fc00000 (as oracle.py does). */
function digest(values) {
  const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) bytes.set(CANONICAL_NAN, i * 4);
  return createHash('sha256').update(bytes).digest('hex');
}

const readers = {
  safetensors: {
    kind: 's',
    valid: validSafetensors,
    mutate: mutateSafetensors,
    errorType: WeightsError,
    read(bytes) {
      const file = parseSafetensors(bytes);
      // entries, not an object, so keys such as '__proto__' stay data through postMessage
      const tensors = [...file.entries.values()].map((e) => [e.key, e.dtype === 'I64' ? { dtype: e.dtype, shape: [...e.shape] } : { dtype: e.dtype, shape: [...e.shape], digest: digest(readFloat32(file, e)) }]);
      return { tensors, metadata: Object.entries(file.metadata) };
    },
    same(ours, oracle) {
      const theirs = new Map(Object.entries(oracle.tensors));
      if (ours.tensors.length !== theirs.size) return 'tensor count';
      for (const [k, a] of ours.tensors) {
        const b = theirs.get(k);
        if (!b || a.dtype !== b.dtype || a.shape.join() !== b.shape.join() || a.digest !== b.digest) return `tensor '${k}'`;
      }
      const ma = ours.metadata.map(String).sort().join('\n');
      const mb = Object.entries(oracle.metadata).map(String).sort().join('\n');
      return ma === mb ? undefined : 'metadata';
    },
  },
  npy: {
    kind: 'n',
    valid: validNpy,
    mutate: mutateNpy,
    errorType: ShapeError,
    read(bytes) {
      const t = parseNpy(bytes);
      return { shape: [...t.shape], digest: digest(t.data) };
    },
    same(ours, oracle) {
      if (ours.shape.join() !== oracle.shape.join()) return `shape (${ours.shape}) vs (${oracle.shape})`;
      return ours.digest === oracle.digest ? undefined : 'values';
    },
  },
};

function runOracle(kind, files) {
  const parts = [];
  for (const f of files) {
    const head = new Uint8Array(5);
    head[0] = kind.charCodeAt(0);
    new DataView(head.buffer).setUint32(1, f.length, true);
    parts.push(head, f);
  }
  const r = spawnSync('/usr/bin/python3', [`${here}/oracle.py`], { input: Buffer.concat(parts), maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`oracle.py failed: ${r.stderr}`);
  const lines = r.stdout.toString().trim().split('\n');
  if (lines.length !== files.length) throw new Error(`oracle.py answered ${lines.length} of ${files.length} cases`);
  return lines.map((l) => JSON.parse(l));
}

/** The class of a rejection: the error's code and the message up to the first detail. */
const rejectionClass = (e) => `${e.name}/${e.code}: ${e.message.replace(/^'[^']*': /, '').replace(/'[^']*'|"[^"]*"|\d+/g, '#').slice(0, 60)}`;

/** Worker side: generate and read cases [start, end), reporting the case in progress. */
async function runWorker() {
  const { name, start, end, seed: base, progress } = workerData;
  const reader = readers[name];
  const now = new Int32Array(progress);
  const out = [];
  for (let i = start; i < end; i++) {
    Atomics.store(now, 0, i);
    const caseSeed = (base * 1_000_003 + i) >>> 0;
    const r = rng(caseSeed);
    const valid = reader.valid(r);
    const c = r.chance(0.1) ? { mutation: 'valid', bytes: valid.bytes } : reader.mutate(r, valid);
    const t = performance.now();
    let ours;
    try {
      ours = { ok: true, value: reader.read(c.bytes) };
    } catch (e) {
      ours = { ok: false, typed: e instanceof reader.errorType && typeof e.code === 'string', name: e?.name, code: e?.code, message: String(e?.message) };
    }
    out.push({ caseSeed, mutation: c.mutation, bytes: c.bytes, ours, ms: performance.now() - t });
  }
  parentPort.postMessage(out);
  process.exit(0);
}

/** Reads cases [start, end) in a worker; a case still running after WATCHDOG_MS is a hang. */
function readBatch(name, start, end) {
  const progress = new SharedArrayBuffer(4);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { name, start, end, seed, progress } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const hung = new Int32Array(progress)[0];
      void worker.terminate();
      resolve({ hung });
    }, WATCHDOG_MS);
    worker.once('message', (cases) => {
      clearTimeout(timer);
      resolve({ cases });
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function campaign(name) {
  const reader = readers[name];
  const tally = { cases: 0, validCases: 0, accepted: 0, rejected: 0, crashes: 0, hangs: 0, silentWrong: 0, acceptedButOracleRejects: 0, rejectedButOracleAccepts: 0, maxMs: 0 };
  const byCode = {};
  const byClass = {};
  const stricter = {};
  const defects = [];
  const deadline = performance.now() + seconds * 1000;
  const pending = [];
  for (let start = 0; start < maxCases; start += BATCH) pending.push([start, Math.min(maxCases, start + BATCH)]);
  while (pending.length > 0 && performance.now() < deadline) {
    const [start, end] = pending.shift();
    const result = await readBatch(name, start, end);
    if (result.hung !== undefined) {
      // the hung case is a defect; the rest of its batch runs again without it
      tally.cases++;
      tally.hangs++;
      defects.push({ kind: 'hang', seed: (seed * 1_000_003 + result.hung) >>> 0, ms: `> ${WATCHDOG_MS}` });
      if (result.hung > start) pending.unshift([start, result.hung]);
      if (result.hung + 1 < end) pending.unshift([result.hung + 1, end]);
      continue;
    }
    const batch = result.cases;
    const verdicts = runOracle(reader.kind, batch.map((c) => c.bytes));
    batch.forEach((c, i) => {
      const oracle = verdicts[i];
      tally.cases++;
      tally.maxMs = Math.max(tally.maxMs, c.ms);
      if (c.mutation === 'valid') tally.validCases++;
      if (c.ms > HANG_MS) {
        tally.hangs++;
        defects.push({ kind: 'hang', seed: c.caseSeed, mutation: c.mutation, ms: c.ms });
      }
      if (!c.ours.ok) {
        const e = c.ours;
        if (!e.typed) {
          tally.crashes++;
          defects.push({ kind: 'crash', seed: c.caseSeed, mutation: c.mutation, error: `${e.name}: ${e.message}` });
          return;
        }
        tally.rejected++;
        byCode[e.code] = (byCode[e.code] ?? 0) + 1;
        const cls = rejectionClass(e);
        byClass[cls] = (byClass[cls] ?? 0) + 1;
        if (oracle.ok) {
          tally.rejectedButOracleAccepts++;
          stricter[cls] = (stricter[cls] ?? 0) + 1;
          if (c.mutation === 'valid' && e.code !== 'unsupported') defects.push({ kind: 'valid file rejected', seed: c.caseSeed, error: e.message });
        }
        return;
      }
      tally.accepted++;
      if (!oracle.ok) {
        tally.acceptedButOracleRejects++;
        defects.push({ kind: 'accepted, oracle rejects', seed: c.caseSeed, mutation: c.mutation, oracle: oracle.error });
        return;
      }
      const diff = reader.same(c.ours.value, oracle);
      if (diff !== undefined) {
        tally.silentWrong++;
        defects.push({ kind: 'silent wrong value', seed: c.caseSeed, mutation: c.mutation, diff });
      }
    });
  }
  return { reader: name, seed, ...tally, maxMs: Number(tally.maxMs.toFixed(1)), rejectedByCode: byCode, rejectedByClass: byClass, rejectedWhereOracleAccepts: stricter, defects: defects.slice(0, 20) };
}

// Cases run in a worker thread, so a reader that hangs is caught by a watchdog, not waited on.
if (!isMainThread) await runWorker();

const results = [];
for (const name of options.reader ? [options.reader] : ['safetensors', 'npy']) {
  const t = performance.now();
  const r = await campaign(name);
  r.seconds = Number(((performance.now() - t) / 1000).toFixed(1));
  results.push(r);
  if (options.json) continue;
  console.log(`\n== ${name}: ${r.cases} cases (${r.validCases} unmutated) in ${r.seconds} s, seed ${seed}`);
  console.log(`accepted ${r.accepted}, rejected ${r.rejected}, crashes ${r.crashes}, hangs ${r.hangs} (slowest case ${r.maxMs} ms), silent wrong values ${r.silentWrong}, accepted where the oracle rejects ${r.acceptedButOracleRejects}`);
  console.log(`rejected by code: ${Object.entries(r.rejectedByCode).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`rejected where the oracle accepts (stricter than the oracle): ${r.rejectedButOracleAccepts}`);
  for (const [k, v] of Object.entries(r.rejectedWhereOracleAccepts).sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${String(v).padStart(7)}  ${k}`);
  console.log('rejection classes (top 15):');
  for (const [k, v] of Object.entries(r.rejectedByClass).sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(v).padStart(7)}  ${k}`);
  for (const d of r.defects) console.log(`DEFECT ${JSON.stringify(d)}`);
}
if (options.json) console.log(JSON.stringify(results, null, 2));
const bad = results.some((r) => r.crashes + r.hangs + r.silentWrong + r.acceptedButOracleRejects > 0 || r.defects.length > 0);
process.exit(bad ? 1 : 0);
