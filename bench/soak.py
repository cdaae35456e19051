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
import argparse, base64, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    os.chmod(tmp, 0o755)
    rec = np.fromfile(os.path.join(ROOT, "tests/data/heldout-1000.bin"), np.uint8).reshape(-1, 785)
    bodies = os.path.join(tmp, "bodies.txt")
    with open(bodies, "w") as f:
        for r in rec:
            ok, png = cv2.imencode(".png", r[1:].reshape(28, 28))
            f.write(json.dumps({"image": base64.b64encode(png.tobytes()).decode()}) + "\n")
    port = free_port()
    sock = os.path.join(tmp, "p.sock")
    conf = open(os.path.join(ROOT, "nginx/predictd-dev.conf.in")).read()
    for k, v in {"@PREFIX@": tmp, "@LISTEN@": f"127.0.0.1:{port}", "@SOCKET@": sock,
                 "@SOURCE_DIR@": ROOT}.items():
        conf = conf.replace(k, v)
    open(os.path.join(tmp, "nginx.conf"), "w").write(conf)
    log = open(os.path.join(tmp, "predictd.log"), "w")
    pd = subprocess.Popen([args.predictd, "--listen", "unix:" + sock, "--socket-mode", "0666",
                           "--workers", str(args.workers), "--access-log", "off",
                           "--model", os.path.join(ROOT, "model/mnist-cnn.onnx")],
                          stdout=log, stderr=log)
    ng = subprocess.Popen(["nginx", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"), "-e", "stderr"],
                          stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["curl", "-fs", f"http://127.0.0.1:{port}/ready"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)

        def slice_(seconds):
            out = subprocess.run(["wrk", "-t1", "-c64", f"-d{seconds}s", "-s",
                                  os.path.join(ROOT, "bench/post_digits.lua"),
                                  f"http://127.0.0.1:{port}", "--", bodies],
                                 capture_output=True, text=True).stdout
            total = int(re.search(r"(\d+) requests in", out).group(1))
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
            failed = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
            return total, failed

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
        return 0 if ok else 1
    finally:
        pd.send_signal(signal.SIGTERM)
        ng.send_signal(signal.SIGQUIT)
        pd.wait(timeout=30)
        ng.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
