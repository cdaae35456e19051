#!/usr/bin/python3
"""predictd side-by-side benchmark: predictd vs Flask, Falcon and Flask+PyTorch, same machine,
same NGINX, same run. One command runs everything and prints the table; it also writes
bench/results/<timestamp>.md, .json and .png.

  bench/run --predictd /tmp/build-bench/predictd              # full run (see bench/README.md)
  bench/run --predictd /tmp/build-bench/predictd --quick      # seconds; what CTest runs
  bench/run --render bench/results/<timestamp>.json           # re-make .md/.png from a run

Owns the schedule: per model, the in-process ceiling, the configuration sweep of each stack
(gunicorn worker class and count for the peers, worker count for predictd), then R rounds in which every stack in turn is started (cold start timed), checked (known
digits must predict their labels), loaded with wrk at each concurrency and with Locust, and
stopped. Stacks alternate within each round so drift hits all alike; medians are reported.
Everything started runs in its own process group and is killed on exit, error or Ctrl-C.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bodies as bodies_mod  # noqa: E402
import ceiling  # noqa: E402
import load  # noqa: E402
import report  # noqa: E402
import stacks as stacks_mod  # noqa: E402

MODELS = {"default": "model/mnist/1/model.onnx", "seedlike": "model/mnist-seedlike.onnx"}
ALL_STACKS = ["predictd", "flask", "falcon", "flask-torch"]
PEER_CONFIGS = "gevent:2,gevent:4,sync:2,sync:3,sync:4"


class Abort(Exception):
    pass


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="seconds, small counts, default model, no sweep: checks that every "
                         "stack answers and every row is in the report, never speed")
    ap.add_argument("--predictd", default=os.environ.get("PREDICTD_BINARY"),
                    help="predictd binary (default $PREDICTD_BINARY, then /tmp/build-bench)")
    ap.add_argument("--predictd-config", default=None,
                    help="ini passed as --config (default: config/predictd.ini if present)")
    ap.add_argument("--predictd-workers", type=int, default=2,
                    help="predictd workers when not swept (default 2, = CPUs)")
    ap.add_argument("--predictd-sweep", default=None,
                    help="predictd worker counts to try like the peers' configs (default 2,3,4; "
                         "'none' = --predictd-workers only)")
    ap.add_argument("--predictd-arg", action="append", help="extra predictd argument (repeat)")
    ap.add_argument("--models", default=None, help="comma list of default,seedlike or paths")
    ap.add_argument("--stacks", default=",".join(ALL_STACKS))
    ap.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 1)")
    ap.add_argument("--duration", type=float, default=None,
                    help="wrk seconds per concurrency level (default 4, quick 1)")
    ap.add_argument("--concurrency", default=None, help="wrk levels (default 1,8,64,256)")
    ap.add_argument("--locust-users", type=int, default=None, help="default 200 (quick 10)")
    ap.add_argument("--spawn-rate", type=float, default=None,
                    help="users started per second (default 1, as the seed; quick 10)")
    ap.add_argument("--locust-duration", type=float, default=None,
                    help="seconds per Locust run (default: ramp + 20 s)")
    ap.add_argument("--think", default="0.5,1.5", help="Locust think time min,max seconds")
    ap.add_argument("--no-locust", action="store_true")
    ap.add_argument("--sweep", default=None,
                    help=f"gunicorn configs to try per peer (default {PEER_CONFIGS}; "
                         "'none' = the seed's gevent:2 only)")
    ap.add_argument("--sweep-duration", type=float, default=3.0)
    ap.add_argument("--ceiling-binary", default=None,
                    help="bench_ceiling built by CMake (default: compile bench/ceiling.cpp)")
    ap.add_argument("--ceiling-seconds", type=float, default=None, help="per batch size")
    ap.add_argument("--nginx-workers", type=int, default=os.cpu_count())
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=45.0,
                    help="abort (cleanly) when the run takes longer than this")
    ap.add_argument("--keep-workdir", action="store_true",
                    help="keep the per-run temp dir (logs, NGINX configs) even on success")
    ap.add_argument("--out", default=None,
                    help="results directory (default bench/results; quick: a temp dir)")
    a = ap.parse_args(argv)
    q = a.quick
    a.models = (a.models or ("default" if q else "default,seedlike")).split(",")
    a.stacks = a.stacks.split(",")
    a.rounds = a.rounds or (1 if q else 3)
    a.duration = a.duration or (1.0 if q else 4.0)
    a.levels = [int(c) for c in (a.concurrency or ("1,8" if q else "1,8,64,256")).split(",")]
    a.locust_users = a.locust_users or (10 if q else 200)
    a.spawn_rate = a.spawn_rate or (10.0 if q else 1.0)
    a.locust_duration = a.locust_duration or (
        3.0 if q else round(a.locust_users / a.spawn_rate) + 20.0)
    a.think = tuple(float(v) for v in a.think.split(","))
    a.ceiling_seconds = a.ceiling_seconds or (0.3 if q else 1.5)
    a.sweep = a.sweep or ("none" if q else PEER_CONFIGS)
    ps = a.predictd_sweep or ("none" if q or a.sweep == "none" else "2,3,4")
    a.predictd_sweep = [] if ps == "none" else [int(n) for n in ps.split(",")]
    a.sweep = [] if a.sweep == "none" else [(k, int(n)) for k, n in
                                            (c.split(":") for c in a.sweep.split(","))]
    if not a.predictd:
        a.predictd = "/tmp/build-bench/predictd"
    if a.predictd_config is None and os.path.exists(os.path.join(REPO, "config", "predictd.ini")):
        a.predictd_config = os.path.join(REPO, "config", "predictd.ini")
    unknown = set(a.stacks) - set(ALL_STACKS)
    if unknown:
        ap.error(f"unknown stacks {sorted(unknown)}; choose from {ALL_STACKS}")
    if "predictd" in a.stacks and not os.access(a.predictd, os.X_OK):
        ap.error(f"predictd binary {a.predictd} not found (--predictd or $PREDICTD_BINARY)")
    a.out = a.out or (os.path.join(tempfile.gettempdir(), "predictd-bench-quick") if q
                      else os.path.join(HERE, "results"))
    return a


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Linux {platform.release()}, "
            f"{platform.freedesktop_os_release().get('PRETTY_NAME', '?')}")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def git_rev():
    try:
        r = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def children_cpu():
    """CPU seconds of this process's reaped children (the load generators)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def model_macs(path):
    """Multiply-accumulates per image of Conv and Gemm nodes (from the ONNX graph)."""
    try:
        import numpy as np
        import onnx
        import onnx.numpy_helper
        g = onnx.load(path).graph
        w = {t.name: onnx.numpy_helper.to_array(t).shape for t in g.initializer}
        inferred = onnx.shape_inference.infer_shapes(onnx.load(path)).graph
        shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                  for v in list(inferred.value_info) + list(inferred.output)}
        macs = 0
        for n in g.node:
            if n.op_type == "Conv":
                out = shapes[n.output[0]]
                k = w[n.input[1]]
                macs += int(np.prod(out[1:])) * int(np.prod(k[1:]))
            elif n.op_type == "Gemm":
                macs += int(np.prod(w[n.input[1]]))
        return macs
    except Exception:    # the figure is a label only
        return None


class Bench:
    def __init__(self, a, workroot):
        self.a, self.root = a, workroot
        self.t0 = time.monotonic()
        self.ceiling_binary = self.build_ceiling()

    def build_ceiling(self):
        """bench/ceiling.cpp: the given --ceiling-binary, else compiled here with g++."""
        if self.a.ceiling_binary:
            return self.a.ceiling_binary
        out = os.path.join(self.root, "bench_ceiling")
        argv = ["g++", "-O2", "-std=c++20", os.path.join(HERE, "ceiling.cpp"), "-o", out,
                "-isystem", "/usr/include/opencv4", "-lopencv_dnn", "-lopencv_core"]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.log(f"C++ ceiling not built ({e}); using the Python one")
            return None
        if r.returncode != 0:
            self.log(f"C++ ceiling not built: {r.stderr[-400:]}; using the Python one")
            return None
        return out

    def check_time(self):
        if time.monotonic() - self.t0 > self.a.max_minutes * 60:
            raise Abort(f"run exceeded --max-minutes {self.a.max_minutes}")

    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    def stack(self, name, model_path, config, tag):
        return stacks_mod.Stack(name, model_path, config, os.path.join(self.root, tag), self.a)

    def loaded(self, st, fn):
        """Run fn() while accounting the stack's CPU; adds cpu_s, cpu_s_per_1k, cpu_util."""
        c0, t0, m0, g0 = st.cpu(), time.monotonic(), machine_jiffies(), children_cpu()
        r = fn()
        c1, wall, m1, g1 = st.cpu(), time.monotonic() - t0, machine_jiffies(), children_cpu()
        busy, total = m1[0] - m0[0], m1[1] - m0[1]
        r["machine_busy"] = busy / total if total else None
        r["loadgen_cpu_s"] = g1 - g0
        r["loadgen_util"] = (g1 - g0) / (wall * os.cpu_count())
        cpu = (c1["app"] - c0["app"]) + (c1["nginx"] - c0["nginx"])
        r["cpu_s"] = cpu
        r["cpu_s_app"], r["cpu_s_nginx"] = c1["app"] - c0["app"], c1["nginx"] - c0["nginx"]
        answered = r["requests"] - (r["non_2xx"] if "non_2xx" in r else r["failures"])
        r["cpu_s_per_1k"] = cpu / answered * 1000 if answered > 0 else None
        r["cpu_util"] = cpu / (wall * os.cpu_count())
        return r

    def sweep(self, model_name, model_path, bodies_file, known):
        out, best = [], {}
        for peer in self.a.stacks:
            cfgs = self.a.sweep if peer != "predictd" else \
                [("prefork", n) for n in self.a.predictd_sweep]
            if len(cfgs) < 2:        # nothing to choose between
                if cfgs:
                    best[peer] = tuple(cfgs[0])
                continue
            for cfg in cfgs:
                self.check_time()
                st = self.stack(peer, model_path, cfg,
                                f"{model_name}/sweep/{peer}-{cfg[0]}{cfg[1]}")
                entry = {"stack": peer, "config": list(cfg)}
                try:
                    err = st.start(known)
                    if err:
                        entry["error"] = err
                    else:
                        load.wrk(st.port, bodies_file, 8, 1, self.a.wrk_threads)
                        entry["wrk"] = load.wrk(st.port, bodies_file, 64, self.a.sweep_duration,
                                                self.a.wrk_threads)
                        entry["cold_start_s"] = st.cold_start_s
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    entry["error"] = str(e)
                finally:
                    st.stop()
                self.log(f"sweep {model_name} {peer} {cfg}: "
                         f"{entry['wrk']['rps']:.0f} req/s" if "wrk" in entry else
                         f"sweep {model_name} {peer} {cfg}: {entry.get('error')}")
                out.append(entry)
            ok = [e for e in out if e["stack"] == peer and "wrk" in e]
            # Best by throughput at 64 connections; failures disqualify unless all fail.
            clean = [e for e in ok if not e["wrk"]["failures"]] or ok
            best[peer] = tuple(max(clean, key=lambda e: e["wrk"]["rps"])["config"]) if clean \
                else tuple(cfgs[0])
        return out, best

    def turn(self, name, model_name, model_path, cfg, rnd, bodies_file, known):
        a = self.a
        st = self.stack(name, model_path, cfg, f"{model_name}/r{rnd}/{name}")
        t = {"stack": name, "round": rnd, "config": list(cfg), "wrk": {}}
        try:
            err = st.start(known)
            t["cold_start_s"] = st.cold_start_s
            if err:
                t["error"] = err
                self.log(f"{model_name} r{rnd} {name}: FAILED {err}")
                return t
            load.wrk(st.port, bodies_file, 8, 1, a.wrk_threads)  # warm-up
            t["load_errors"] = []
            for c in a.levels:
                self.check_time()
                try:
                    r = self.loaded(st, lambda: load.wrk(st.port, bodies_file, c, a.duration,
                                                         a.wrk_threads))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    t["load_errors"].append(f"wrk c{c}: {type(e).__name__}: {e}")
                    self.log(f"{model_name} r{rnd} {name} c{c}: FAILED {e}")
                    continue
                t["wrk"][str(c)] = r
                self.log(f"{model_name} r{rnd} {name} c{c}: {r['rps']:.0f} req/s "
                         f"p99 {r['latency_ms']['p99']:.1f} ms failures {r['failures']}")
            t["pss"] = st.pss()
            if not a.no_locust:
                self.check_time()
                try:
                    r = self.loaded(st, lambda: load.locust(
                        st.port, bodies_file, a.locust_users, a.spawn_rate, a.locust_duration,
                        a.think, st.dir))
                    t["locust"] = r
                    self.log(f"{model_name} r{rnd} {name} locust: {r['requests']} reqs "
                             f"{r['failures']} fails p95 {r['latency_ms']['p95']} ms")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    t["load_errors"].append(f"locust: {type(e).__name__}: {e}")
                    self.log(f"{model_name} r{rnd} {name} locust: FAILED {e}")
            t["after_load_error"] = stacks_mod.check_answers(st.port, known)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            t["error"] = f"{type(e).__name__}: {e}"
            self.log(f"{model_name} r{rnd} {name}: FAILED {t['error']}")
        finally:
            st.stop()
            t["nginx_errors"] = st.nginx_errors()
        return t

    def model(self, model_name):
        a = self.a
        model_path = os.path.join(REPO, MODELS.get(model_name, model_name))
        if not os.path.exists(model_path):
            raise Abort(f"model {model_path} not found")
        os.makedirs(os.path.join(self.root, model_name), exist_ok=True)
        bodies = bodies_mod.Bodies(model_path, limit=1000)
        bodies_file = bodies.write(os.path.join(self.root, model_name, "bodies.jsonl"))
        known = bodies.known_digits()
        mres = {"model_file": os.path.relpath(model_path, REPO), "macs": model_macs(model_path),
                "bodies": len(bodies.bodies), "loadavg_start": loadavg(),
                "locust_params": {"users": a.locust_users, "spawn_rate": a.spawn_rate,
                                  "seconds": a.locust_duration, "think": list(a.think)},
                "ceiling": {}, "rounds": []}
        self.log(f"{model_name}: ceiling")
        if self.ceiling_binary:
            mres["ceiling"]["opencv-cpp"] = ceiling.measure(
                model_path, "opencv-cpp", a.ceiling_seconds, [1, 4, 16, 64], os.cpu_count(),
                self.ceiling_binary)
        mres["ceiling"]["opencv"] = ceiling.measure(model_path, "opencv", a.ceiling_seconds,
                                                    [1, 4, 16, 64], os.cpu_count())
        mres["layers"] = ceiling.layer_profile(model_path, 60 if a.quick else 300)
        if "flask-torch" in a.stacks:
            mres["ceiling"]["torch"] = ceiling.measure(model_path, "torch", a.ceiling_seconds,
                                                       [1, 16, 64], os.cpu_count())
        self.log(f"{model_name}: ceiling {json.dumps({k: round(v[str(os.cpu_count())]['batch1_ips']) for k, v in mres['ceiling'].items()})} img/s batch 1")
        best = {}
        if a.sweep or a.predictd_sweep:
            mres["sweep"], best = self.sweep(model_name, model_path, bodies_file, known)
        configs = {s: best.get(s, stacks_mod.SEED_CONFIG) for s in a.stacks}
        configs["predictd"] = best.get("predictd", ("prefork", a.predictd_workers))
        for rnd in range(a.rounds):
            for name in a.stacks:
                self.check_time()
                mres["rounds"].append(self.turn(name, model_name, model_path, configs[name],
                                                rnd, bodies_file, known))
        mres["summary"] = report.summarise(mres, a.stacks, a.levels)
        mres["ratios"] = report.ratios(mres["summary"], mres["ceiling"])
        mres["loadavg_end"] = loadavg()
        return mres


def quick_check(results, md, stacks):
    """The quick mode's assertions: every stack answered, every row is in the report."""
    problems = []
    for model_name, mres in results["models"].items():
        for name in stacks:
            s = mres["summary"].get(name)
            if not s or s["rounds_ok"] == 0:
                problems.append(f"{model_name}/{name}: never answered: {s and s['errors']}")
                continue
            if s.get("load_errors"):
                problems.append(f"{model_name}/{name}: load runs failed: {s['load_errors']}")
            if s.get("after_load_errors"):
                problems.append(f"{model_name}/{name}: wrong answers after load: "
                                f"{s['after_load_errors']}")
            for c, w in s["wrk"].items():
                if not w["requests"]:
                    problems.append(f"{model_name}/{name}: wrk c{c} got no answers")
            # Locust must have run and reported, without failures. How many requests its few
            # seconds complete is the machine's speed, not a fault (a loaded machine saw 0 in
            # 3 s: Locust itself starts slowly), so a count of 0 is not a failure here.
            loc = s.get("locust")
            if not results["meta"]["no_locust"]:
                if loc is None:
                    problems.append(f"{model_name}/{name}: locust reported nothing")
                elif loc.get("failures_total"):
                    problems.append(f"{model_name}/{name}: locust saw {loc['failures_total']} "
                                    "failures")
            label = report.stack_label(name, s)
            rows = sum(1 for line in md.splitlines() if line.startswith(f"| {label} |"))
            want = len(results["meta"]["levels"]) + 1 + (0 if results["meta"]["no_locust"] else 1)
            if rows < want:
                problems.append(f"{model_name}/{name}: {rows} rows in the report, want {want}")
    return problems


def render(json_path):
    """Re-make the Markdown and the chart of a finished run from its JSON (after a report
    change); the summaries and ratios are recomputed from the raw rounds."""
    with open(json_path) as f:
        results = json.load(f)
    m = results["meta"]
    for mres in results["models"].values():
        mres["summary"] = report.summarise(mres, m["stacks"], m["levels"])
        mres["ratios"] = report.ratios(mres["summary"], mres["ceiling"])
    base = json_path[:-len(".json")]
    md = report.markdown(results)
    with open(base + ".md", "w") as f:
        f.write(md + "\n")
    report.write_json(results, json_path)
    report.chart(results, base + ".png")
    print(md)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--render"]:
        return render(argv[1])
    a = parse_args(argv)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    workroot = tempfile.mkdtemp(prefix=f"predictd-bench-{stamp}-")
    bench = Bench(a, workroot)
    results = {"meta": {
        "timestamp": stamp, "command": "bench/run " + " ".join(shlex.quote(x) for x in
                                                              (sys.argv[1:] if argv is None else argv)),
        "machine": machine(), "loadavg_before": loadavg(), "versions": stacks_mod.tool_versions(),
        "predictd_rev": git_rev(), "predictd": a.predictd, "predictd_workers": a.predictd_workers,
        "nginx_workers": a.nginx_workers, "rounds": a.rounds, "duration": a.duration,
        "levels": a.levels, "stacks": a.stacks, "no_locust": a.no_locust, "quick": a.quick,
        "workdir": workroot}, "models": {}}
    bench.log(f"work dir {workroot}; load average {loadavg()}")
    status = 0
    try:
        for m in a.models:
            results["models"][m] = bench.model(m)
    except (Abort, KeyboardInterrupt) as e:
        bench.log(f"aborted: {e}")
        status = 2
    finally:
        stacks_mod.stop_all()
    results["meta"]["loadavg_after"] = loadavg()
    results["meta"]["elapsed_min"] = (time.monotonic() - bench.t0) / 60
    for m, mres in results["models"].items():
        if "summary" not in mres:
            mres["summary"] = report.summarise(mres, a.stacks, a.levels)
            mres["ratios"] = {}
    md = report.markdown(results)
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, stamp)
    with open(base + ".md", "w") as f:
        f.write(md + "\n")
    report.write_json(results, base + ".json")
    try:
        report.chart(results, base + ".png")
    except Exception as e:   # a chart must not lose the measurements
        bench.log(f"chart failed: {e}")
    print(md)
    bench.log(f"wrote {base}.md, .json, .png")
    failed = [f"{m}/{n}: {s['errors']}" for m, mres in results["models"].items()
              for n, s in mres["summary"].items() if s["rounds_ok"] < s["rounds"]]
    if failed:
        bench.log("stacks that failed a round: " + "; ".join(failed))
        status = status or 1
    if a.quick:
        problems = quick_check(results, md, a.stacks)
        for p in problems:
            bench.log(f"QUICK CHECK FAILED: {p}")
        if problems:
            status = status or 1
        else:
            bench.log(f"quick check passed: {len(a.stacks)} stacks answered, all rows present")
    if status == 0 and not a.keep_workdir:
        shutil.rmtree(workroot, ignore_errors=True)
    else:
        bench.log(f"logs kept in {workroot}")
    return status


if __name__ == "__main__":
    sys.exit(main())
