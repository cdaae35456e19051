#!/usr/bin/python3
"""bench/protocol_throughput.py — images/s of one predictd through each protocol it speaks:
Open Inference Protocol v2 with binary tensor data, v2 JSON (base64 BYTES), TF Serving REST
({"b64"} instances) and the native /predict JSON, for the MNIST digits and the photo model.

  bench/protocol_throughput.py --predictd BUILD/predictd [--models mnist,nsfw-mobilenetv2]
      [--protocols v2-binary,v2-json,tfs-b64,predict] [--concurrency 64] [--batch 1]
      [--rounds 3] [--duration 10] [--workers 2]

One stack (NGINX from the dev template + predictd over the model repository) per round; in a
round every (model, protocol) pair is loaded in turn with wrk (bench/post_requests.lua), the
protocol order rotating from round to round so drift hits all alike; medians reported. Bodies:
MNIST's 1 000 held-out digits as PNG, or the photos of photo_throughput.py (long side 1024, JPEG
q85); `--batch` images per request. Before the load, every protocol's first request must be
answered 200 with the same top-1 class as /predict gives, so the rows measure equal work.
Output answers: the full probabilities on every protocol (v2 binary: as binary FP32).
"""
import argparse, base64, glob, json, os, re, statistics, struct, subprocess, tempfile
import urllib.request

import cv2
import numpy as np

from dev_stack import ROOT, DevStack

PROTOCOLS = ["v2-binary", "v2-json", "tfs-b64", "predict"]


def digit_images():
    rec = np.fromfile(os.path.join(ROOT, "tests/data/heldout-1000.bin"), np.uint8).reshape(-1, 785)
    return [cv2.imencode(".png", r[1:].reshape(28, 28))[1].tobytes() for r in rec]


def photo_images(width=1024, quality=85):
    model = os.path.join(ROOT, "model/nsfw-mobilenetv2")
    files = sorted(glob.glob(os.path.join(model, ".cache/photos/**/*.jp*g"), recursive=True))
    files += sorted(glob.glob(os.path.join(model, "samples/*.jpg")))
    out = []
    for p in files:
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        if img is None:
            continue
        scale = width / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    return out


def make_request(protocol, model, images):
    """(path, content type, Inference-Header-Content-Length or None, body bytes)."""
    b64 = [base64.b64encode(i).decode() for i in images]
    if protocol == "predict":
        doc = {"image": b64[0]} if len(images) == 1 else {"images": b64}
        return f"/models/{model}/predict", "application/json", None, json.dumps(doc).encode()
    if protocol == "tfs-b64":
        doc = {"instances": [{"b64": s} for s in b64]}
        return f"/v1/models/{model}:predict", "application/json", None, json.dumps(doc).encode()
    if protocol == "v2-json":
        doc = {"inputs": [{"name": "input", "shape": [len(images)], "datatype": "BYTES",
                           "data": b64}]}
        return f"/v2/models/{model}/infer", "application/json", None, json.dumps(doc).encode()
    data = b"".join(struct.pack("<I", len(i)) + i for i in images)
    head = json.dumps({"inputs": [{"name": "input", "shape": [len(images)], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": len(data)}}],
                       "parameters": {"binary_data_output": True}}).encode()
    return f"/v2/models/{model}/infer", "application/octet-stream", len(head), head + data


def top1(protocol, status, headers, body):
    """The first image's best class from an answer of `protocol`."""
    if status != 200:
        raise SystemExit(f"{protocol}: HTTP {status}: {body[:300]!r}")
    if protocol == "v2-binary":
        n = int(headers["Inference-Header-Content-Length"])
        size = json.loads(body[:n])["outputs"][0]["shape"][-1]
        probs = struct.unpack(f"<{size}f", body[n:n + 4 * size])
    else:
        doc = json.loads(body)
        if protocol == "predict":
            probs = (doc["predictions"][0] if "predictions" in doc else doc)["probabilities"]
        elif protocol == "tfs-b64":
            probs = doc["predictions"][0]
        else:
            out = doc["outputs"][0]
            probs = out["data"][:out["shape"][-1]]
    return int(np.argmax(probs))


def post(port, req):
    path, ctype, hlen, body = req
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                               headers={"Content-Type": ctype})
    if hlen is not None:
        r.add_header("Inference-Header-Content-Length", str(hlen))
    try:
        with urllib.request.urlopen(r, timeout=60) as a:
            return a.status, dict(a.headers), a.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def write_requests(path, reqs):
    with open(path, "wb") as f:
        for target, ctype, hlen, body in reqs:
            f.write(f"{target}\n{ctype}\n{hlen if hlen is not None else '-'}\n{len(body)}\n".encode())
            f.write(body)


def answered(port):
    """Prediction requests answered 200 so far, from predictd's /metrics (every route but the
    operational ones)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    n = 0
    for m in re.finditer(r'^predictd_requests_total\{route="([^"]*)",status="200"\} (\d+)$', text,
                         re.M):
        if m.group(1) not in ("/metrics", "/status", "/health", "/ready"):
            n += int(m.group(2))
    return n


def wrk(port, conns, seconds, requests_file, drain):
    """One closed-loop wrk run, then one request (`drain`) answered: wrk leaves up to `conns`
    requests queued at the workers when it stops, and the next run must not inherit them."""
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "-s",
                          os.path.join(ROOT, "bench/post_requests.lua"), f"http://127.0.0.1:{port}",
                          "--", requests_file], capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    j = json.loads(re.search(r"WRK_JSON (.*)", out).group(1))
    j["failures"] = sum(j["errors"].values())
    post(port, drain)
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictd", required=True)
    ap.add_argument("--models", default="mnist,nsfw-mobilenetv2")
    ap.add_argument("--protocols", default=",".join(PROTOCOLS))
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--predictd-arg", action="append", default=[])
    args = ap.parse_args()
    models = args.models.split(",")
    protocols = args.protocols.split(",")
    tmp = tempfile.mkdtemp(prefix="predictd-proto-bodies-")
    files, sizes = {}, {}
    for m in models:
        images = digit_images() if m == "mnist" else photo_images()
        batches = [images[i:i + args.batch] for i in range(0, len(images) - args.batch + 1, args.batch)]
        for p in protocols:
            reqs = [make_request(p, m, b) for b in batches]
            files[m, p] = os.path.join(tmp, f"{m}-{p}.req")
            write_requests(files[m, p], reqs)
            sizes[m, p] = sum(len(r[3]) for r in reqs) / len(reqs)
        print(f"{m}: {len(batches)} requests of {args.batch} image(s) per protocol; mean body "
              + ", ".join(f"{p} {sizes[m, p] / 1024:.1f} KB" for p in protocols), flush=True)
    results = {k: [] for k in files}
    for r in range(args.rounds):
        with DevStack(args.predictd, os.path.join(ROOT, "model"), args.predictd_arg,
                      args.workers) as s:
            for m in models:
                images = digit_images()[:args.batch] if m == "mnist" else photo_images()[:args.batch]
                want = {p: top1(p, *post(s.port, make_request(p, m, images))) for p in protocols}
                if len(set(want.values())) != 1:
                    raise SystemExit(f"{m}: protocols disagree on the first request: {want}")
                order = protocols[r % len(protocols):] + protocols[:r % len(protocols)]
                for p in order:
                    first = make_request(p, m, images)
                    wrk(s.port, args.concurrency, 2, files[m, p], first)  # warm-up
                    n0, cpu0 = answered(s.port), s.cpu_seconds()
                    j = wrk(s.port, args.concurrency, args.duration, files[m, p], first)
                    # CPU per image: both processes' CPU over every request answered in the run
                    # (those still queued when wrk stopped included, the drain request not):
                    # far less sensitive to a noisy machine than images/s.
                    cpu = (s.cpu_seconds() - cpu0) / max(1, (answered(s.port) - n0 - 1) * args.batch)
                    ips = (j["requests"] - j["failures"]) * args.batch / j["duration_s"]
                    results[m, p].append((ips, j["latency_ms"]["p50"], j["latency_ms"]["p99"],
                                          j["failures"], cpu * 1e3))
                    print(f"round {r + 1} {m} {p}: {ips:.1f} images/s p50 "
                          f"{j['latency_ms']['p50']:.1f} ms p99 {j['latency_ms']['p99']:.1f} ms "
                          f"failures {j['failures']} CPU {cpu * 1e3:.3f} ms/image", flush=True)
    print(f"\n{args.concurrency} connections, {args.batch} image(s) per request, medians of "
          f"{args.rounds} rounds\n")
    print("| model | protocol | mean body | images/s | vs /predict | p50 ms | p99 ms | failures "
          "| CPU ms/image | vs /predict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in models:
        base = statistics.median(x[0] for x in results[m, "predict"]) if "predict" in protocols else None
        base_cpu = (statistics.median(x[4] for x in results[m, "predict"])
                    if "predict" in protocols else None)
        for p in protocols:
            rows = results[m, p]
            ips = statistics.median(x[0] for x in rows)
            ratio = f"{ips / base:.2f}x" if base else "-"
            cpu = statistics.median(x[4] for x in rows)
            cpu_ratio = f"{cpu / base_cpu:.2f}x" if base_cpu else "-"
            print(f"| {m} | {p} | {sizes[m, p] / 1024:.1f} KB | {ips:.1f} | {ratio} | "
                  f"{statistics.median(x[1] for x in rows):.1f} | "
                  f"{statistics.median(x[2] for x in rows):.1f} | {sum(x[3] for x in rows)} | "
                  f"{cpu:.3f} | {cpu_ratio} |")


if __name__ == "__main__":
    main()
