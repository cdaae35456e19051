#!/usr/bin/python3
"""Where a stack's CPU goes under load: perf record on its process tree while wrk runs.

Owns: starting one stack exactly as bench/run.py does, loading it with wrk at a fixed
concurrency, sampling every process of the stack (NGINX included) with `perf record -e
cpu-clock -g`, and printing the top processes, shared objects and symbols. Does not judge.

  /usr/bin/python3 bench/perf_profile.py --predictd /tmp/build-bench/predictd \\
      --model model/mnist/1/model.onnx --seconds 10 --connections 64
  (add --photos --model model/nsfw-mobilenetv2/1/model.onnx for the photo workload)
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bodies as bodies_mod  # noqa: E402
import load  # noqa: E402
import stacks as stacks_mod  # noqa: E402


def report(data, sort, limit, extra=()):
    r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                        "-g", "none", "--sort", sort, "--percent-limit", "0.5", *extra],
                       capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.strip() and not l.startswith("#")]
    return "\n".join(lines[:limit])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stack", default="predictd", choices=["predictd", *stacks_mod.PEER_APPS])
    ap.add_argument("--config", default=None, help="worker_class:workers for a peer")
    ap.add_argument("--predictd", default=os.environ.get("PREDICTD_BINARY",
                                                         "/tmp/build-bench/predictd"))
    ap.add_argument("--predictd-config", default=os.path.join(REPO, "config", "predictd.ini"))
    ap.add_argument("--predictd-arg", action="append")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default=os.path.join(REPO, "model", "mnist-cnn.onnx"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--nginx-workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=None, help="directory for perf.data and the text report")
    ap.add_argument("--photos", action="store_true",
                    help="post the photo workload's single-photo bodies (bench/photo_bodies.py) "
                         "instead of digits; --model is then the photo model")
    a = ap.parse_args()
    a.model = os.path.abspath(a.model)
    out = a.out or tempfile.mkdtemp(prefix="predictd-profile-")
    os.makedirs(out, exist_ok=True)
    if a.photos:
        import photo_bodies  # noqa: E402  (needs the photographs; only for this workload)
        pb = photo_bodies.PhotoBodies(a.model)
        bodies_file, known = pb.single_file, list(pb.known)
    else:
        bodies = bodies_mod.Bodies(a.model)
        bodies_file, known = bodies.write(os.path.join(out, "bodies.jsonl")), bodies.known_digits()
    if a.stack == "predictd":
        cfg = ("prefork", a.workers)
    else:
        kind, n = (a.config or "gevent:2").split(":")
        cfg = (kind, int(n))
    st = stacks_mod.Stack(a.stack, a.model, cfg, os.path.join(out, "stack"), a)
    perf = None
    try:
        err = st.start(known)
        if err:
            sys.exit(f"stack failed: {err}")
        load.wrk(st.port, bodies_file, 8, 2)
        pids = st.pids()
        data = os.path.join(out, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                                 "-o", data, "-p", ",".join(map(str, pids["app"] + pids["nginx"]))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(0.5)
        c0 = st.cpu()
        w = load.wrk(st.port, bodies_file, a.connections, a.seconds)
        c1 = st.cpu()
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
        perf = None
        cpu = {k: c1[k] - c0[k] for k in c0}
        text = [f"{a.stack} {cfg} model {os.path.basename(a.model)}: {w['rps']:.0f} req/s at "
                f"c{a.connections}, p99 {w['latency_ms']['p99']:.2f} ms, failures {w['failures']}",
                f"CPU s per 1k requests: app {cpu['app'] / w['requests'] * 1000:.3f}, "
                f"nginx {cpu['nginx'] / w['requests'] * 1000:.3f}",
                "", "== by process ==", report(data, "comm", 10),
                "", "== by shared object ==", report(data, "comm,dso", 20),
                "", "== top symbols ==", report(data, "comm,dso,symbol", 40)]
        text = "\n".join(text)
        with open(os.path.join(out, "profile.txt"), "w") as f:
            f.write(text + "\n")
        print(text)
        print(f"\n(perf data and report in {out})")
    finally:
        if perf is not None:
            perf.kill()
        st.stop()


if __name__ == "__main__":
    main()
