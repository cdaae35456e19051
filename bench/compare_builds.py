#!/usr/bin/python3
"""bench/compare_builds.py — before/after: two predictd builds (each with its own model and
flags) behind the same NGINX template, measured alternately (A B A B …) with wrk at the given
concurrencies; prints median req/s, p50 and p99 per build and level, and the ratio.

Usage:
  bench/compare_builds.py --a NAME=BINARY:MODEL[:FLAGS] --b NAME=BINARY:MODEL[:FLAGS] \
      [--rounds 3] [--duration 5] [--concurrency 1,64] [--workers 2]
FLAGS is a space-separated list of extra predictd flags. Bodies: the 1 000 held-out digits.
"""
import argparse, base64, json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_one(binary, model, flags, workers, conns, seconds, bodies):
    tmp = tempfile.mkdtemp(prefix="predictd-cmp-")
    os.chmod(tmp, 0o755)
    port = free_port()
    sock = os.path.join(tmp, "p.sock")
    conf = open(os.path.join(ROOT, "nginx/predictd-dev.conf.in")).read()
    for k, v in {"@PREFIX@": tmp, "@LISTEN@": f"127.0.0.1:{port}", "@SOCKET@": sock,
                 "@SOURCE_DIR@": ROOT}.items():
        conf = conf.replace(k, v)
    open(os.path.join(tmp, "nginx.conf"), "w").write(conf)
    pd = subprocess.Popen([binary, "--listen", "unix:" + sock, "--socket-mode", "0666",
                           "--workers", str(workers), "--model", model] + flags,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ng = subprocess.Popen(["nginx", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"), "-e", "stderr"],
                          stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["curl", "-fs", f"http://127.0.0.1:{port}/ready"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["wrk", "-t1", f"-c{conns}", "-d1s", "-s", os.path.join(ROOT, "bench/post_digits.lua"),
                        f"http://127.0.0.1:{port}", "--", bodies], capture_output=True)  # warm-up
        out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "-s",
                              os.path.join(ROOT, "bench/post_digits.lua"),
                              f"http://127.0.0.1:{port}", "--", bodies],
                             capture_output=True, text=True, timeout=seconds + 30).stdout
        j = json.loads(re.search(r"WRK_JSON (.*)", out).group(1))
        failures = sum(j["errors"].values())
        return {"rps": (j["requests"] - failures) / j["duration_s"], "p50": j["latency_ms"]["p50"],
                "p99": j["latency_ms"]["p99"], "failures": failures}
    finally:
        pd.send_signal(signal.SIGTERM)
        ng.send_signal(signal.SIGQUIT)
        pd.wait(timeout=30)
        ng.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def parse_target(text):
    name, rest = text.split("=", 1)
    parts = rest.split(":", 2)
    return name, parts[0], parts[1], (parts[2].split() if len(parts) > 2 else [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--concurrency", default="1,64")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    targets = [parse_target(args.a), parse_target(args.b)]
    levels = [int(c) for c in args.concurrency.split(",")]

    tmp = tempfile.mkdtemp(prefix="predictd-cmp-bodies-")
    bodies = os.path.join(tmp, "bodies.txt")
    rec = np.fromfile(os.path.join(ROOT, "tests/data/heldout-1000.bin"), np.uint8).reshape(-1, 785)
    with open(bodies, "w") as f:
        for r in rec:
            ok, png = cv2.imencode(".png", r[1:].reshape(28, 28))
            f.write(json.dumps({"image": base64.b64encode(png.tobytes()).decode()}) + "\n")
    results = {(t[0], c): [] for t in targets for c in levels}
    for _ in range(args.rounds):
        for c in levels:
            for name, binary, model, flags in targets:  # alternate A B within every level
                results[(name, c)].append(run_one(binary, model, flags, args.workers, c,
                                                  args.duration, bodies))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"| build | conns | req/s (median of {args.rounds}) | p50 ms | p99 ms | failures |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in levels:
        for name, *_ in targets:
            rs = results[(name, c)]
            print(f"| {name} | {c} | {statistics.median(r['rps'] for r in rs):.0f} | "
                  f"{statistics.median(r['p50'] for r in rs):.3f} | "
                  f"{statistics.median(r['p99'] for r in rs):.3f} | {sum(r['failures'] for r in rs)} |")
    for c in levels:
        a = statistics.median(r["rps"] for r in results[(targets[0][0], c)])
        b = statistics.median(r["rps"] for r in results[(targets[1][0], c)])
        print(f"c{c}: {targets[1][0]} / {targets[0][0]} throughput = {b / a:.2f}×")


if __name__ == "__main__":
    sys.exit(main())
