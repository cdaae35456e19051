#!/usr/bin/python3
"""bench/compare_builds.py — before/after: two predictd builds (each with its own model and
flags) behind the same NGINX template, measured alternately (A B A B …) with wrk at the given
concurrencies; prints median req/s, p50 and p99 per build and level, and the ratio.

Usage:
  bench/compare_builds.py --a NAME=BINARY:MODEL[:FLAGS] --b NAME=BINARY:MODEL[:FLAGS] \
      [--rounds 3] [--duration 5] [--concurrency 1,64] [--workers 2] [--bodies FILE]
FLAGS is a space-separated list of extra predictd flags. Bodies: the 1 000 held-out digits, or
FILE (one JSON body per line, POSTed to /predict), e.g. photos written by
bench/photo_throughput.py --write-bodies FILE.
"""
import argparse, os, shutil, statistics, sys, tempfile

from dev_stack import DevStack, wrk, write_bodies


def run_one(binary, model, flags, workers, conns, seconds, bodies):
    with DevStack(binary, model, flags, workers) as stack:
        wrk(stack.port, conns, 1, bodies)  # warm-up
        j = wrk(stack.port, conns, seconds, bodies)
    return {"rps": (j["requests"] - j["failures"]) / j["duration_s"], "p50": j["latency_ms"]["p50"],
            "p99": j["latency_ms"]["p99"], "failures": j["failures"]}


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
    ap.add_argument("--bodies", default=None, help="JSON bodies, one per line (default: digits)")
    args = ap.parse_args()
    targets = [parse_target(args.a), parse_target(args.b)]
    levels = [int(c) for c in args.concurrency.split(",")]

    tmp = tempfile.mkdtemp(prefix="predictd-cmp-bodies-")
    bodies = args.bodies or os.path.join(tmp, "bodies.txt")
    if not args.bodies:
        write_bodies(bodies)
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
