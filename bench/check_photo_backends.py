#!/usr/bin/python3
"""Do the photo peers' engines compute the model predictd serves? One check, by hand.

Owns: running the same preprocessed photos (the peers' Pillow path, photo_service.blob)
through ONNX Runtime 1.30 (the engine predictd's workers run, here through
model/nsfw-mobilenetv2/ort_run.cjs and the onnxruntime-node that verify.py installed in
.cache/node), cv2.dnn (backends.CvModel) and the PyTorch rebuild (backends.TorchModel), at
batch 1 and in one batch, and printing the largest probability difference of each against
ONNX Runtime. Exit status 1 when one is above --tolerance (1e-4). Without node or
onnxruntime-node, the PyTorch rebuild is compared with cv2.dnn only (and says so).

  /usr/bin/python3 bench/check_photo_backends.py [--photos 8]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

import backends  # noqa: E402
import photo_bodies  # noqa: E402
import photo_service  # noqa: E402


def ort(model_dir, model, x):
    """ONNX Runtime through node; None when it is not installed."""
    node_modules = os.path.join(model_dir, ".cache", "node", "node_modules")
    if not os.path.isdir(os.path.join(node_modules, "onnxruntime-node")):
        return None
    with tempfile.TemporaryDirectory() as d:
        fin, fout = os.path.join(d, "in.f32"), os.path.join(d, "out.f32")
        x.astype(np.float32).tofile(fin)
        subprocess.run(["node", os.path.join(model_dir, "ort_run.cjs"), "run", model, fin, fout,
                        str(len(x)), "1"], check=True, timeout=300,
                       env=dict(os.environ, NODE_PATH=node_modules))
        return np.fromfile(fout, np.float32).reshape(len(x), -1)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(photo_bodies.MODEL_DIR, "1", "model.onnx"))
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    pb = photo_bodies.PhotoBodies(a.model, limit=max(a.photos, 8))
    files = [os.path.join(pb.dir, im["file"]) for im in pb.images[:a.photos]]
    x = photo_service.blob([open(f, "rb").read() for f in files])
    cv, tm = backends.CvModel(a.model, 1), backends.TorchModel(a.model, 1)
    out = {"opencv batch 1": np.concatenate([cv.forward(x[i:i + 1]) for i in range(len(x))]),
           f"opencv batch {len(x)}": cv.forward(x),
           "torch batch 1": np.concatenate([tm.forward(x[i:i + 1]) for i in range(len(x))]),
           f"torch batch {len(x)}": tm.forward(x)}
    labels = photo_service.read_labels(a.model)
    ref = ort(pb.model_dir, a.model, x)
    ref_name = "ONNX Runtime 1.30 (onnxruntime-node, batch 1)"
    if ref is None:
        ref, ref_name = out.pop("opencv batch 1"), "cv2.dnn batch 1 (no onnxruntime-node here)"
    print(f"{len(x)} photos ({', '.join(im['variant'] for im in pb.images[:a.photos])}), "
          f"reference {ref_name}; top-1 of the reference: "
          f"{[labels[i] for i in np.argmax(ref, 1)]}")
    bad = False
    for name, y in out.items():
        d = float(np.abs(y - ref).max())
        same = bool((np.argmax(y, 1) == np.argmax(ref, 1)).all())
        ok = d <= a.tolerance and same
        bad |= not ok
        print(f"  {name:16s} max |p - p_ref| {d:.2e}  top-1 {'same' if same else 'DIFFERS'}  "
              f"{'ok' if ok else 'FAIL'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
