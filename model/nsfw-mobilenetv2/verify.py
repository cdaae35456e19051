#!/usr/bin/python3
"""Check model.onnx against the independent numpy forward pass on real photographs.

  verify.py [--fetch-photos] [--limit N] [--bench] [--opencv]

1. Photos: the files listed in debian-photos.tsv, extracted from their Debian packages into
   .cache/photos/PACKAGE/ (--fetch-photos runs `apt-get download` + `dpkg-deb -x` for the
   packages not yet there; nothing is installed on the system).
2. Preprocessing (the contract of model.onnx): decode (OpenCV, EXIF orientation applied), RGB,
   resize to 224x224 (INTER_AREA), float32 = pixel / 255, NHWC.
3. Reference: reference_forward.py in float64 straight from the Keras layer list.
4. ONNX Runtime 1.30 (npm onnxruntime-node, run by node through ort_run.cjs, one thread) at
   batch 8 and batch 1; OpenCV DNN (python3-opencv) at batch 8 and 1 unless --no-opencv.
5. Prints max |difference| of the probabilities against the reference, the top-1 labels, and
   with --bench the single-threaded latency at batch 1 and 8. Exit status 1 if ONNX Runtime
   differs from the reference by more than --tol (1e-4).

onnxruntime-node is installed on first use into .cache/node (npm install --ignore-scripts: its
postinstall would try to fetch optional CUDA binaries; the CPU library is in the npm package).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from convert_nsfwjs import LABELS, load_nsfwjs  # noqa: E402
from reference_forward import forward  # noqa: E402

CACHE = os.path.join(HERE, ".cache")
MANIFEST = os.path.join(HERE, "debian-photos.tsv")
ORT_NODE = "onnxruntime-node@1.30.0"
TFJS = "@tensorflow/tfjs@4.22.0"


def read_manifest(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        pkg, ver, p, w, h, size = line.rstrip("\n").split("\t")
        rows.append({"package": pkg, "version": ver, "path": p, "width": int(w), "height": int(h), "bytes": int(size)})
    return rows


def fetch_photos(rows, photos_dir):
    """apt-get download each package not yet extracted, unpack only the listed photos, drop the .deb."""
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    os.makedirs(photos_dir, exist_ok=True)
    for pkg in sorted({r["package"] for r in rows}):
        dest = os.path.join(photos_dir, pkg)
        if os.path.isdir(dest):
            continue
        subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True)
        deb = os.path.join(debs, sorted(f for f in os.listdir(debs) if f.startswith(pkg + "_") and f.endswith(".deb"))[-1])
        tmp = dest + ".tmp"
        subprocess.run(["rm", "-rf", tmp], check=True)
        os.makedirs(tmp)
        members = ["." + r["path"] for r in read_manifest(MANIFEST) if r["package"] == pkg]
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tmp, "-f", "-"] + members, stdin=tar.stdout, check=True)
        if tar.wait() != 0:
            raise RuntimeError(f"dpkg-deb --fsys-tarfile {deb} failed")
        os.replace(tmp, dest)
        os.remove(deb)


def preprocess(path):
    import cv2
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb = cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float32) / np.float32(255)


def preprocess_upstream(path):
    """What nsfwjs itself does in the browser: pixels / 255, then tf.image.resizeBilinear to
    224x224 with alignCorners=true (no antialiasing), the whole image stretched."""
    import cv2
    rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255)
    h, w = rgb.shape[:2]

    def axis(n_in):
        src = np.arange(224, dtype=np.float64) * ((n_in - 1) / 223)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0).astype(np.float32)
    y0, y1, wy = axis(h)
    x0, x1, wx = axis(w)
    top = rgb[y0][:, x0] * (1 - wx)[None, :, None] + rgb[y0][:, x1] * wx[None, :, None]
    bot = rgb[y1][:, x0] * (1 - wx)[None, :, None] + rgb[y1][:, x1] * wx[None, :, None]
    return top * (1 - wy)[:, None, None] + bot * wy[:, None, None]


def tfjs_run(package_tgz, x, node_dir):
    """Upstream TensorFlow.js on the same inputs (tfjs_run.cjs)."""
    import tarfile
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "@tensorflow", "tfjs")):
        os.makedirs(node_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", node_dir, TFJS],
                       check=True)
    pkg_dir = os.path.join(CACHE, "nsfwjs-package")
    if not os.path.isdir(os.path.join(pkg_dir, "package")):
        with tarfile.open(package_tgz) as t:
            t.extractall(pkg_dir, members=[m for m in t.getmembers()
                                           if m.name.startswith("package/dist/models/mobilenet_v2/")])
    with tempfile.TemporaryDirectory() as d:
        fin, fout = os.path.join(d, "in.f32"), os.path.join(d, "out.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(fin)
        subprocess.run(["node", os.path.join(HERE, "tfjs_run.cjs"), os.path.join(pkg_dir, "package"), fin, str(len(x)),
                        fout], check=True, env=node_env(os.path.join(node_dir, "node_modules")),
                       stdout=subprocess.DEVNULL)
        return np.fromfile(fout, dtype="<f4").reshape(len(x), len(LABELS))


def ensure_ort_node(node_dir):
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "onnxruntime-node")):
        os.makedirs(node_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", node_dir, ORT_NODE],
                       check=True)
    return os.path.join(node_dir, "node_modules")


def node_env(node_modules):
    env = dict(os.environ)
    env["NODE_PATH"] = node_modules
    return env


def ort_run(model, x, batch, node_modules):
    with tempfile.TemporaryDirectory() as d:
        fin, fout = os.path.join(d, "in.f32"), os.path.join(d, "out.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(fin)
        subprocess.run(["node", os.path.join(HERE, "ort_run.cjs"), "run", model, fin, fout, str(len(x)), str(batch)],
                       check=True, env=node_env(node_modules))
        return np.fromfile(fout, dtype="<f4").reshape(len(x), len(LABELS))


def ort_bench(model, x, batch, iters, node_modules):
    with tempfile.TemporaryDirectory() as d:
        fin = os.path.join(d, "in.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(fin)
        out = subprocess.run(["node", os.path.join(HERE, "ort_run.cjs"), "bench", model, fin, str(len(x)), str(batch),
                              str(iters)], check=True, env=node_env(node_modules), capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def opencv_net(model):
    import cv2
    cv2.setNumThreads(1)
    return cv2.dnn.readNetFromONNX(model)


def opencv_run(net, x, batch):
    outs = []
    for i in range(0, len(x), batch):
        net.setInput(np.ascontiguousarray(x[i:i + batch]))
        outs.append(net.forward().reshape(-1, len(LABELS)).copy())
    return np.concatenate(outs)


def opencv_bench(net, x, batch, iters):
    feeds = [np.ascontiguousarray(x[i:i + batch]) for i in range(0, len(x) - batch + 1, batch)]
    for k in range(3):
        net.setInput(feeds[k % len(feeds)])
        net.forward()
    t = []
    for k in range(iters):
        net.setInput(feeds[k % len(feeds)])
        t0 = time.perf_counter()
        net.forward()
        t.append((time.perf_counter() - t0) * 1e3)
    t.sort()
    med = t[len(t) // 2]
    return {"batch": batch, "iters": iters, "ms_median": med, "ms_min": t[0], "ms_per_image_median": med / batch}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "1", "model.onnx"))
    ap.add_argument("--package", default=os.path.join(CACHE, "npm", "nsfwjs-4.4.0.tgz"),
                    help="nsfwjs npm tarball (tools/fetch-models puts it there)")
    ap.add_argument("--manifest", default=MANIFEST)
    ap.add_argument("--photos-dir", default=os.path.join(CACHE, "photos"))
    ap.add_argument("--fetch-photos", action="store_true", help="apt-get download + dpkg-deb -x missing packages")
    ap.add_argument("--limit", type=int, default=0, help="first N photos of the manifest (0: all)")
    ap.add_argument("--node-dir", default=os.path.join(CACHE, "node"))
    ap.add_argument("--no-opencv", dest="opencv", action="store_false")
    ap.add_argument("--tfjs", action="store_true",
                    help=f"also run the upstream runtime ({TFJS}, pure-JS CPU backend, installed into .cache/tfjs)")
    ap.add_argument("--bench", action="store_true", help="also time ORT (and OpenCV DNN) at batch 1 and 8, one thread")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

    rows = read_manifest(a.manifest)
    if a.limit:
        rows = rows[:a.limit]
    if a.fetch_photos:
        fetch_photos(rows, a.photos_dir)
    paths = [os.path.join(a.photos_dir, r["package"], r["path"].lstrip("/")) for r in rows]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        sys.exit(f"{len(missing)} photos missing (first: {missing[0]}); run with --fetch-photos")

    x = np.stack([preprocess(p) for p in paths])
    print(f"{len(x)} photos from {len({r['package'] for r in rows})} Debian packages", file=sys.stderr)

    _, topology, weights = load_nsfwjs(a.package)
    t0 = time.perf_counter()
    ref = np.concatenate([forward(topology, weights, x[i:i + 8]) for i in range(0, len(x), 8)])
    t_ref = time.perf_counter() - t0
    if not np.allclose(ref.sum(axis=1), 1, atol=1e-9):
        sys.exit("reference output is not a probability distribution")

    res = {"n_photos": len(x), "model": a.model, "reference_seconds": round(t_ref, 1), "max_abs_diff": {}}
    node_modules = ensure_ort_node(a.node_dir)
    outs = {}
    for b in (8, 1):
        outs[f"onnxruntime batch {b}"] = ort_run(a.model, x, b, node_modules)
    net = None
    if a.opencv:
        try:
            net = opencv_net(a.model)
            for b in (8, 1):
                outs[f"opencv-dnn batch {b}"] = opencv_run(net, x, b)
        except Exception as e:  # report, do not fail: OpenCV is not the reference runtime
            res["opencv_error"] = str(e).strip().splitlines()[-1][:300]
            print(f"OpenCV DNN failed: {res['opencv_error']}", file=sys.stderr)
    if a.tfjs:
        outs["tfjs (upstream) batch 8"] = tfjs_run(a.package, x, os.path.join(CACHE, "tfjs"))
    for k, v in outs.items():
        d = float(np.abs(v.astype(np.float64) - ref).max())
        res["max_abs_diff"][k] = d
        agree = int((v.argmax(1) == ref.argmax(1)).sum())
        print(f"{k:24s} max |p - p_ref| = {d:.2e}   top-1 agrees on {agree}/{len(x)}")

    top = ref.argmax(1)
    res["top1_counts"] = {LABELS[i]: int((top == i).sum()) for i in range(len(LABELS))}
    res["per_photo"] = [{"package": r["package"], "path": r["path"], "top1": LABELS[int(t)],
                         "p": [round(float(q), 4) for q in p]} for r, t, p in zip(rows, top, ref)]
    print("top-1 over the photos:", res["top1_counts"])
    worst = np.argsort(ref[:, 2])[:8]
    print("lowest Neutral probability:")
    for i in worst:
        print(f"  {rows[i]['package']}:{rows[i]['path']}  " + " ".join(f"{l}={v:.3f}" for l, v in zip(LABELS, ref[i])))

    # our preprocessing (INTER_AREA) against nsfwjs' own (bilinear, align_corners): same model (ORT)
    xu = np.stack([preprocess_upstream(p) for p in paths])
    pu = ort_run(a.model, xu, 8, node_modules)
    po = outs["onnxruntime batch 8"]
    res["upstream_resize"] = {"top1_agree": int((pu.argmax(1) == po.argmax(1)).sum()),
                              "max_abs_diff": float(np.abs(pu - po).max()),
                              "mean_abs_diff": float(np.abs(pu - po).mean())}
    print(f"resize INTER_AREA vs nsfwjs bilinear(align_corners): top-1 agrees on {res['upstream_resize']['top1_agree']}"
          f"/{len(x)}, max |dp| {res['upstream_resize']['max_abs_diff']:.3f}, mean {res['upstream_resize']['mean_abs_diff']:.4f}")

    if a.bench:
        res["latency"] = {}
        for b in (1, 8):
            r = ort_bench(a.model, x[:max(8, b)], b, a.iters if b == 1 else max(a.iters // 4, 20), node_modules)
            res["latency"][f"onnxruntime batch {b}"] = r
            print(f"onnxruntime-node 1.30 1 thread batch {b}: {r['ms_median']:.2f} ms/run, "
                  f"{r['ms_per_image_median']:.2f} ms/image (min {r['ms_min']:.2f})")
            if net is not None:
                r = opencv_bench(net, x[:max(8, b)], b, max(a.iters // (4 if b == 1 else 16), 10))
                res["latency"][f"opencv-dnn batch {b}"] = r
                print(f"opencv-dnn 4.6 1 thread batch {b}: {r['ms_median']:.2f} ms/run, "
                      f"{r['ms_per_image_median']:.2f} ms/image")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    worst_ort = max(v for k, v in res["max_abs_diff"].items() if k.startswith("onnxruntime"))
    if worst_ort > a.tol:
        print(f"FAIL: ONNX Runtime differs from the reference by {worst_ort:.2e} > {a.tol}", file=sys.stderr)
        return 1
    print(f"OK: ONNX Runtime matches the numpy reference within {worst_ort:.2e} (tolerance {a.tol})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
