#!/usr/bin/python3
"""Bare OpenCV DNN latency of MNIST ONNX models (no HTTP, no preprocessing).

Owns: timing cv2.dnn forward passes. Does not own training or the service.

For each ONNX path: load with cv2.dnn.readNetFromONNX (default backend, CPU
target), cv2.setNumThreads(--threads, default 1), feed held-out digits from
tests/data/heldout-1000.bin (random pixels if absent), warm up, then report
  - batch 1:  median of --runs single-image forwards (each timed alone),
  - batch 64: median over --batch-runs forwards of 64 images, divided by 64.
Medians because the machine is shared and noisy.

Example:
  /usr/bin/python3 model/bench_inference.py model/mnist/1/model.onnx model/mnist-seedlike.onnx
"""

import argparse
import os
import statistics
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HELDOUT = os.path.join(HERE, "..", "tests", "data", "heldout-1000.bin")


def load_inputs():
    if os.path.exists(HELDOUT):
        rec = np.fromfile(HELDOUT, dtype=np.uint8).reshape(-1, 785)
        return (rec[:, 1:].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28), rec[:, 0]
    rng = np.random.default_rng(0)
    return rng.random((1000, 1, 28, 28), dtype=np.float32), None


def bench(path, x, labels, runs, batch_runs, warmup):
    net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    acc = None
    if labels is not None:
        net.setInput(x)
        acc = float((net.forward().argmax(1) == labels).mean())

    n = len(x)
    for i in range(warmup):
        net.setInput(x[i % n:i % n + 1])
        net.forward()
    b1 = []
    for i in range(runs):
        blob = x[i % n:i % n + 1]
        t0 = time.perf_counter_ns()
        net.setInput(blob)
        net.forward()
        b1.append(time.perf_counter_ns() - t0)

    for i in range(max(5, warmup // 20)):
        net.setInput(x[:64])
        net.forward()
    b64 = []
    for i in range(batch_runs):
        s = (i * 64) % (n - 64)
        blob = x[s:s + 64]
        t0 = time.perf_counter_ns()
        net.setInput(blob)
        net.forward()
        b64.append(time.perf_counter_ns() - t0)
    return {
        "b1_median_us": statistics.median(b1) / 1e3,
        "b1_p90_us": sorted(b1)[int(0.9 * len(b1))] / 1e3,
        "b64_per_image_us": statistics.median(b64) / 64 / 1e3,
        "acc": acc,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx", nargs="+")
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (default 1)")
    ap.add_argument("--runs", type=int, default=2000, help="batch-1 timed runs")
    ap.add_argument("--batch-runs", type=int, default=200, help="batch-64 timed runs")
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args()

    cv2.setNumThreads(args.threads)
    x, labels = load_inputs()
    print(f"OpenCV {cv2.__version__}, cv2.setNumThreads({args.threads}) -> "
          f"getNumThreads()={cv2.getNumThreads()}; batch-1 runs {args.runs}, "
          f"batch-64 runs {args.batch_runs}, warm-up {args.warmup}")
    print(f"{'model':32s} {'b1 median us':>12s} {'b1 p90 us':>10s} "
          f"{'b64 us/img':>10s} {'held-out acc':>12s}")
    for path in args.onnx:
        r = bench(path, x, labels, args.runs, args.batch_runs, args.warmup)
        acc = "-" if r["acc"] is None else f"{100 * r['acc']:.2f}%"
        print(f"{os.path.basename(path):32s} {r['b1_median_us']:12.1f} {r['b1_p90_us']:10.1f} "
              f"{r['b64_per_image_us']:10.1f} {acc:>12s}", flush=True)


if __name__ == "__main__":
    main()
