// tfjs_run.cjs — the upstream runtime as a cross-check: TensorFlow.js (npm @tensorflow/tfjs, pure-JS
// CPU backend) loads the nsfwjs MobileNetV2 straight from the package's .min.js files, dequantising
// the weights itself, and predicts. Called by verify.py --tfjs with NODE_PATH set.
//
//   node tfjs_run.cjs PACKAGE_DIR IN.f32 N OUT.f32     IN: N×224×224×3 float32 NHWC; OUT: N×5
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [pkg, inPath, nS, outPath] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const dir = path.resolve(pkg, 'dist/models/mobilenet_v2');
  const mj = require(path.join(dir, 'model.min.js'));
  const specs = [], shards = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) shards.push(Buffer.from(require(path.join(dir, p + '.min.js')), 'base64'));
  }
  const buf = Buffer.concat(shards);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData }));
  const b = fs.readFileSync(inPath);
  const x = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const n = Number(nS), img = 224 * 224 * 3, out = new Float32Array(n * 5);
  for (let i = 0; i < n; i += 8) {
    const k = Math.min(8, n - i);
    const t = tf.tensor(x.slice(i * img, (i + k) * img), [k, 224, 224, 3]);
    const y = model.predict(t);
    out.set(await y.data(), i * 5);
    t.dispose(); y.dispose();
  }
  fs.writeFileSync(outPath, Buffer.from(out.buffer));
  console.error(`tfjs ${tf.version.tfjs} (${tf.getBackend()}), ${model.countParams()} parameters`);
}

main().catch((e) => { console.error(e); process.exit(1); });
