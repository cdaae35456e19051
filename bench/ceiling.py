"""The ceiling: bare in-process inference throughput of a model, no HTTP, no decoding.

Owns: timing net.forward() (cv2.dnn, the backend predictd and the Flask/Falcon peers use, or
PyTorch eager, the flask-torch peer's) on preprocessed held-out digits with one intra-op thread
per process, at batch 1 and at larger batches, in 1 process and in N processes at once (the
machine's ceiling with one process per core, like one worker per core). Does not own the
stacks. Stdout: one JSON document.

  /usr/bin/python3 bench/ceiling.py --model model/mnist/1/model.onnx --seconds 2 --procs 2
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


def measure(model, backend, seconds, batches, procs, binary=None):
    """-> {"1": {"batch_ips": {b: images/s}}, "<procs>": {...}} for 1 and `procs` processes.
    backend "opencv-cpp" runs `binary` (bench/ceiling.cpp) instead of this script's worker."""
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
        env = dict(os.environ, OMP_NUM_THREADS="1")
        ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
              for _ in range(n)]
        outs = []
        for p in ps:
            o, _ = p.communicate(timeout=60 + seconds * len(batches) * 3)
            outs.append(json.loads(o))
        ips = {str(b): sum(o[str(b)] for o in outs) for b in batches}
        best = max(ips, key=ips.get)
        result[str(n)] = {"batch_ips": ips, "batch1_ips": ips["1"],
                          "best_batch": int(best), "best_ips": ips[best]}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--backend", choices=["opencv", "opencv-cpp", "torch"], default="opencv")
    ap.add_argument("--binary", help="bench_ceiling binary, for --backend opencv-cpp")
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
    else:
        print(json.dumps(measure(args.model, args.backend, args.seconds, args.batches,
                                 args.procs, args.binary), indent=1))


if __name__ == "__main__":
    main()
