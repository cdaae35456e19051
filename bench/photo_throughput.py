#!/usr/bin/python3
"""bench/photo_throughput.py — served images/s of the photo model on real JPEG photographs,
and its bare in-process ceiling.

  bench/photo_throughput.py --predictd BUILD/predictd --ceiling BUILD/bench/bench_model_ceiling
      [--model model/nsfw-mobilenetv2] [--concurrency 1,8,64] [--rounds 3] [--duration 10]
      [--workers 2] [--photos DIR] [--width 1024] [--quality 85] [--write-bodies FILE]

Photos: every JPEG under model/nsfw-mobilenetv2/.cache/photos (the Debian packages listed in
debian-photos.tsv; `model/nsfw-mobilenetv2/verify.py --fetch-photos --limit 0` fetches them)
and samples/, re-encoded as a web page would serve them: long side --width, JPEG --quality.
Bodies as the seed posts them: {"image": base64} to /predict, the photo model served as the
default model. wrk closed loop at each concurrency, rounds alternating with nothing else, the
median reported. The ceiling: bench_model_ceiling (ImageModel, 1 thread) at batch 1 and 8, one
process and one per core at once (summed).
"""
import argparse, base64, glob, json, os, statistics, subprocess, sys, tempfile, time

import cv2

from dev_stack import DevStack, ROOT, wrk


def photo_bodies(model_dir, photos_dir, width, quality, path):
    files = sorted(glob.glob(os.path.join(photos_dir, "**", "*.jp*g"), recursive=True))
    files += sorted(glob.glob(os.path.join(model_dir, "samples", "*.jpg")))
    n = 0
    with open(path, "w") as f:
        for p in files:
            img = cv2.imread(p, cv2.IMREAD_COLOR)
            if img is None:
                continue
            scale = width / max(img.shape[:2])
            if scale < 1:
                img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                                 interpolation=cv2.INTER_AREA)
            ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            f.write(json.dumps({"image": base64.b64encode(jpg.tobytes()).decode()}) + "\n")
            n += 1
    return n


def ceiling(binary, model_dir, onnx, processes, seconds):
    procs = [subprocess.Popen([binary, model_dir, onnx, str(seconds), "1,8"], stdout=subprocess.PIPE,
                              text=True) for _ in range(processes)]
    outs = [json.loads(p.communicate()[0]) for p in procs]
    return {b: sum(o[b] for o in outs) for b in outs[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictd")
    ap.add_argument("--ceiling")
    ap.add_argument("--model", default=os.path.join(ROOT, "model/nsfw-mobilenetv2"))
    ap.add_argument("--photos", default=None)
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--write-bodies", default=None,
                    help="only write the bodies (one JSON per line) to FILE, for compare_builds.py")
    args = ap.parse_args()
    if args.write_bodies:
        n = photo_bodies(args.model, args.photos or os.path.join(args.model, ".cache", "photos"),
                         args.width, args.quality, args.write_bodies)
        print(f"{n} bodies written to {args.write_bodies}")
        return
    onnx = os.path.join(args.model, "1", "model.onnx")
    photos = args.photos or os.path.join(args.model, ".cache", "photos")
    tmp = tempfile.mkdtemp(prefix="predictd-photos-")
    bodies = os.path.join(tmp, "bodies.jsonl")
    n = photo_bodies(args.model, photos, args.width, args.quality, bodies)
    size = os.path.getsize(bodies) / n
    print(f"{n} photos, long side {args.width}, JPEG q{args.quality}, {size / 1024:.0f} KB per body")
    levels = [int(c) for c in args.concurrency.split(",")]
    results = {c: [] for c in levels}
    for r in range(args.rounds):
        with DevStack(args.predictd, onnx, [], args.workers) as stack:
            for c in levels:
                wrk(stack.port, c, 2, bodies)  # warm-up
                j = wrk(stack.port, c, args.duration, bodies)
                rps = (j["requests"] - j["failures"]) / j["duration_s"]
                results[c].append((rps, j["latency_ms"]["p50"], j["latency_ms"]["p99"], j["failures"]))
                print(f"round {r + 1} c={c}: {rps:.1f} images/s p50 {j['latency_ms']['p50']:.1f} ms "
                      f"p99 {j['latency_ms']['p99']:.1f} ms failures {j['failures']}", flush=True)
    print("\nconnections | images/s (median) | p50 ms | p99 ms | failures")
    for c in levels:
        rows = results[c]
        print(f"{c} | {statistics.median(x[0] for x in rows):.1f} | "
              f"{statistics.median(x[1] for x in rows):.1f} | {statistics.median(x[2] for x in rows):.1f} | "
              f"{sum(x[3] for x in rows)}")
    one = ceiling(args.ceiling, args.model, onnx, 1, 5)
    many = ceiling(args.ceiling, args.model, onnx, args.workers, 5)
    print(f"\nceiling (no decode, no HTTP), 1 process: batch 1 {one['1']:.1f}, batch 8 {one['8']:.1f} "
          f"images/s; {args.workers} processes: batch 1 {many['1']:.1f}, batch 8 {many['8']:.1f} images/s")


if __name__ == "__main__":
    main()
