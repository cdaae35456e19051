"""The ceilings: bare in-process throughput of a model, no HTTP; for photos also the decode.

Owns: timing net.forward() (cv2.dnn, the backend the Flask/Falcon peers use, or PyTorch eager,
the flask-torch peer's) on preprocessed held-out digits or photos with one intra-op thread
per process, at batch 1 and at larger batches, in 1 process and in N processes at once (the
machine's ceiling with one process per core, like one worker per core); running the C++ tools
that time predictd's own code the same way (bench_ceiling: cv2.dnn on digits;
bench_model_ceiling: ImageModel, the engine of the model's config.json, ONNX Runtime for the
photo model; bench_decode_cost: plan + decode + preprocess of each image, as the request path
runs them) and combining them into the photo ceiling:
  images/s = cores / (decode + preprocess + inference) per image.
Does not own the stacks. Stdout: one JSON document.

  /usr/bin/python3 bench/ceiling.py --model model/mnist/1/model.onnx --seconds 2 --procs 2
  /usr/bin/python3 bench/ceiling.py --model model/nsfw-mobilenetv2/1/model.onnx \
      --backend onnxruntime-cpp --binary BUILD/bench/bench_model_ceiling \
      --decode-binary BUILD/bench/bench_decode_cost
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))


def worker(args):
    import bodies
    import digit_service
    if args.photos:                # the photo model: the peers' Pillow preprocessing
        import photo_service
        with open(args.photos) as f:
            files = f.read().split()
        x = photo_service.blob([open(p, "rb").read() for p in files])
    else:
        images = bodies.load_digits()[0][:512]
        x = np.concatenate([digit_service.preprocess(
            __import__("cv2").imencode(".png", im)[1].tobytes()) for im in images])
    model = (digit_service.TorchModel if args.backend == "torch" else digit_service.CvModel)(
        args.model, 1)
    torch = model.torch if args.backend == "torch" else None
    out = {}
    # Start together: wait for the agreed wall-clock instant.
    delay = args.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    for b in args.batches:
        batches = [np.ascontiguousarray(x[i:i + b]) for i in range(0, len(x) - b + 1, b)]
        run = (lambda blob: model.net.setInput(blob) or model.net.forward()) \
            if torch is None else (lambda blob: model._run(torch.from_numpy(blob)))
        ctx = torch.inference_mode() if torch is not None else None
        if ctx:
            ctx.__enter__()
        for blob in batches[:3]:
            run(blob)                                           # warm-up
        n, i, t0 = 0, 0, time.perf_counter()
        while True:
            run(batches[i])
            i = (i + 1) % len(batches)
            n += b
            t = time.perf_counter() - t0
            if t >= args.seconds:
                break
        if ctx:
            ctx.__exit__(None, None, None)
        out[str(b)] = n / t
    print(json.dumps(out))


def layer_profile(model, images=300):
    """Per-layer time of cv2.dnn at batch 1, one thread (Net.getPerfProfile), in this process.
    -> {"total_us": per-image, "layers": [[name, us, share], ...] heaviest first}"""
    import cv2
    import bodies
    cv2.setNumThreads(1)
    x = (bodies.load_digits()[0][:200].reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    net = cv2.dnn.readNetFromONNX(model)
    names = net.getLayerNames()
    acc = np.zeros(len(names))
    for i in range(images + 20):
        net.setInput(x[i % 200:i % 200 + 1])
        net.forward()
        if i >= 20:                                   # first ones are warm-up
            acc += np.asarray(net.getPerfProfile()[1], float).ravel()[:len(names)]
    us = acc / images / cv2.getTickFrequency() * 1e6
    order = np.argsort(-us)
    return {"total_us": float(us.sum()),
            "layers": [[names[i].replace("onnx_node!", ""), float(us[i]), float(us[i] / us.sum())]
                       for i in order if us[i] > 0.01 * us.sum()]}


def _summary(outs, batches):
    ips = {str(b): sum(o[str(b)] for o in outs) for b in batches}
    best = max(ips, key=ips.get)
    return {"batch_ips": ips, "batch1_ips": ips["1"], "best_batch": int(best),
            "best_ips": ips[best]}


def measure(model, backend, seconds, batches, procs, binary=None, photos=None):
    """-> {"1": {"batch_ips": {b: images/s}}, "<procs>": {...}} for 1 and `procs` processes.
    backend "opencv-cpp" runs `binary` (bench/ceiling.cpp) instead of this script's worker;
    photos: a file listing photo paths, the inputs instead of the digits (opencv, torch)."""
    result = {}
    for n in sorted({1, procs}):
        start_at = time.time() + 3.0          # room for every child to import and load
        if backend == "opencv-cpp":
            import bodies
            argv = [binary, model, bodies.HELDOUT, str(seconds), str(start_at),
                    ",".join(map(str, batches))]
        else:
            argv = [sys.executable, os.path.abspath(__file__), "--worker", "--model", model,
                    "--backend", backend, "--seconds", str(seconds), "--start-at",
                    str(start_at), "--batches", ",".join(map(str, batches))]
            if photos:
                argv += ["--photos", photos]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
              for _ in range(n)]
        outs = []
        for p in ps:
            o, _ = p.communicate(timeout=60 + seconds * len(batches) * 3)
            outs.append(json.loads(o))
        result[str(n)] = _summary(outs, batches)
    return result


def model_ceiling(binary, model, seconds, batches, procs):
    """bench_model_ceiling (predictd's ImageModel: the engine and threads of the model's
    config.json, inputs already preprocessed), in 1 and in `procs` processes at once.
    -> the same shape as measure()."""
    model_dir = os.path.dirname(os.path.dirname(os.path.abspath(model)))
    result = {}
    for n in sorted({1, procs}):
        ps = [subprocess.Popen([binary, model_dir, model, str(seconds),
                                ",".join(map(str, batches))], stdout=subprocess.PIPE, text=True)
              for _ in range(n)]
        outs = [json.loads(p.communicate(timeout=60 + seconds * len(batches) * 3)[0])
                for p in ps]
        result[str(n)] = _summary(outs, batches)
    return result


def decode_cost(binary, model, images, shares):
    """bench_decode_cost on images {variant: [paths]} (the request path's plan, decode and
    preprocess, medians per image), averaged per variant and weighted by `shares`
    {variant: fraction of the images posted}.
    -> {"variants": {v: {"images", "decode_ms", "prep_ms", "total_ms"}}, "decode_prep_ms"}"""
    model_dir = os.path.dirname(os.path.dirname(os.path.abspath(model)))
    paths = [p for v in sorted(images) for p in images[v]]
    r = subprocess.run([binary, model_dir] + paths, capture_output=True, text=True,
                       timeout=60 + 3 * len(paths))
    rows = {}
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if len(f) == 7:              # name bytes reduction cost_MiB decode prep total
            rows[f[0]] = (float(f[4]), float(f[5]))
    variants = {}
    for v, lst in images.items():
        got = [rows[os.path.basename(p)] for p in lst if os.path.basename(p) in rows]
        if got:
            d, pr = float(np.mean([g[0] for g in got])), float(np.mean([g[1] for g in got]))
            variants[v] = {"images": len(got), "decode_ms": d, "prep_ms": pr,
                           "total_ms": d + pr}
    if not variants or r.returncode != 0:
        raise RuntimeError(f"bench_decode_cost: rc {r.returncode} {r.stderr[-300:]}"
                           f"{r.stdout[-300:]}")
    return reweight({"variants": variants}, shares)


def reweight(decode, shares):
    """decode_cost()'s figures weighted by other shares {variant: fraction} (another body set
    of the same images)."""
    variants = decode["variants"]
    weight = sum(shares.get(v, 0) for v in variants)
    mean = sum(variants[v]["total_ms"] * shares.get(v, 0) for v in variants) / weight
    return {"variants": variants, "shares": shares, "decode_prep_ms": mean}


def combined(inference, decode, images_per_request, cores):
    """The photo ceiling: cores ÷ (decode + preprocess + inference) per image, in images/s, with
    the inference of one process at the batch a request carries (or the nearest measured)."""
    one = inference["1"]["batch_ips"]
    b = min((int(k) for k in one), key=lambda k: (abs(k - images_per_request), -k))
    infer_ms = 1000.0 / one[str(b)]
    per_image = decode["decode_prep_ms"] + infer_ms
    return {"cores": cores, "batch": b, "infer_ms": infer_ms,
            "decode_prep_ms": decode["decode_prep_ms"], "per_image_ms": per_image,
            "per_request_ms": per_image * images_per_request,
            "ips": cores * 1000.0 / per_image}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--backend", choices=["opencv", "opencv-cpp", "onnxruntime-cpp", "torch"],
                    default="opencv")
    ap.add_argument("--binary", help="bench_ceiling (opencv-cpp) or bench_model_ceiling "
                                     "(onnxruntime-cpp) binary")
    ap.add_argument("--decode-binary", help="bench_decode_cost: add the photo decode cost and "
                                            "the combined ceiling (photo model)")
    ap.add_argument("--photos", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=2.0, help="per batch size")
    ap.add_argument("--batches", default="1,4,16,64")
    ap.add_argument("--procs", type=int, default=os.cpu_count())
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    if 1 not in args.batches:
        args.batches.insert(0, 1)
    if args.worker:
        worker(args)
    elif args.backend == "onnxruntime-cpp":
        out = {"inference": model_ceiling(args.binary, args.model, args.seconds, args.batches,
                                          args.procs)}
        if args.decode_binary:
            import photo_bodies
            pb = photo_bodies.PhotoBodies(args.model, limit=None)
            out["decode"] = decode_cost(args.decode_binary, args.model, pb.sample(4),
                                        pb.shares(False))
            out["combined"] = combined(out["inference"], out["decode"], 1, args.procs)
        print(json.dumps(out, indent=1))
    else:
        print(json.dumps(measure(args.model, args.backend, args.seconds, args.batches,
                                 args.procs, args.binary), indent=1))


if __name__ == "__main__":
    main()
