#!/usr/bin/python3
"""bench/soak.py — the soak benchmark (not in CI): drive predictd through NGINX for about a
million requests and check that no worker's memory grows.

Starts NGINX + predictd (the repo's dev NGINX template) in a temp dir, loads it with wrk (64
connections, the held-out digits as PNG bodies) in slices, samples every worker's RSS
(/proc/<pid>/status VmRSS) after each slice, and reports requests, failures and each worker's
RSS at the first and last sample. Passes when every worker's last RSS is within 5 % of its
first (the first sample is taken after a warm-up slice) and no worker was replaced.

Usage: bench/soak.py --predictd build/predictd [--requests 1000000] [--slice-seconds 20]
"""
import argparse, json, os, re, shutil, sys, tempfile, time

from dev_stack import ROOT, DevStack, wrk, write_bodies


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                    out.append(int(name))
            except OSError:
                pass
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictd", required=True)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--slice-seconds", type=int, default=20)
    ap.add_argument("--max-minutes", type=float, default=15)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="predictd-soak-")
    bodies = os.path.join(tmp, "bodies.txt")
    write_bodies(bodies)
    log = open(os.path.join(tmp, "predictd.log"), "w")
    with DevStack(args.predictd, os.path.join(ROOT, "model/mnist/1/model.onnx"), ["--access-log", "off"],
                  args.workers, log) as stack:
        pd = stack.predictd

        def slice_(seconds):
            j = wrk(stack.port, 64, seconds, bodies)
            return j["requests"], j["failures"]

        slice_(5)  # warm-up
        workers = children(pd.pid)
        first = {w: rss_kb(w) for w in workers}
        done = failed = 0
        samples = []
        deadline = time.time() + args.max_minutes * 60
        while done < args.requests and time.time() < deadline:
            n, f = slice_(args.slice_seconds)
            done += n
            failed += f
            now = {w: rss_kb(w) for w in children(pd.pid)}
            samples.append((done, now))
            print(f"{done:>9} requests, {failed} failed, RSS kB: " +
                  ", ".join(f"{w}={r}" for w, r in sorted(now.items())), flush=True)
        last = samples[-1][1]
        same_workers = sorted(last) == sorted(first)
        growth = {w: (last.get(w, 0) - first[w]) / first[w] * 100 for w in first}
        print(json.dumps({"requests": done, "failed": failed, "workers_replaced": not same_workers,
                          "rss_first_kb": first, "rss_last_kb": last,
                          "rss_growth_percent": {w: round(g, 2) for w, g in growth.items()}}, indent=1))
        ok = failed == 0 and same_workers and all(abs(g) <= 5 for g in growth.values()) and done >= args.requests
        print("SOAK PASSED" if ok else "SOAK FAILED")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
