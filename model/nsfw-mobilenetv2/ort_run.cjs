// ort_run.cjs — run or time model.onnx with ONNX Runtime (npm onnxruntime-node), single-threaded.
// Called by verify.py with NODE_PATH pointing at the onnxruntime-node install (.cache/node).
//
//   node ort_run.cjs run   MODEL IN.f32 OUT.f32 N BATCH   IN: N×224×224×3 float32 (NHWC, [0,1]);
//                                                          runs it in chunks of BATCH, writes N×5
//   node ort_run.cjs bench MODEL IN.f32 N BATCH ITERS     median/min/p90 ms per run and per image
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const IMG = 224 * 224 * 3;

function readF32(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

async function session(model) {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

function slice(all, start, b) {
  return new ort.Tensor('float32', all.slice(start * IMG, (start + b) * IMG), [b, 224, 224, 3]);
}

async function main() {
  const [mode, model, inPath, ...rest] = process.argv.slice(2);
  const all = readF32(inPath);
  const s = await session(model);
  if (mode === 'run') {
    const [outPath, nS, bS] = rest;
    const n = Number(nS), batch = Number(bS);
    if (all.length !== n * IMG) throw new Error(`input has ${all.length / IMG} images, expected ${n}`);
    const out = new Float32Array(n * 5);
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      const r = await s.run({ input: slice(all, i, b) });
      const p = r.probabilities;
      if (p.dims[0] !== b || p.dims[1] !== 5) throw new Error(`output dims ${p.dims}`);
      out.set(p.data, i * 5);
    }
    fs.writeFileSync(outPath, Buffer.from(out.buffer));
  } else if (mode === 'bench') {
    const [nS, bS, itS] = rest;
    const n = Number(nS), batch = Number(bS), iters = Number(itS);
    const feeds = [];
    for (let i = 0; i + batch <= n; i += batch) feeds.push({ input: slice(all, i, batch) });
    for (let w = 0; w < 5; w++) await s.run(feeds[w % feeds.length]);
    const t = [];
    for (let k = 0; k < iters; k++) {
      const t0 = process.hrtime.bigint();
      await s.run(feeds[k % feeds.length]);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((a, b) => a - b);
    const med = t[Math.floor(t.length / 2)];
    console.log(JSON.stringify({
      batch, iters, ms_median: med, ms_min: t[0], ms_p90: t[Math.floor(t.length * 0.9)],
      ms_per_image_median: med / batch, ort: ort.env.versions,
    }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
