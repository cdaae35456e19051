#!/usr/bin/python3
"""predictd side-by-side benchmark: predictd vs Flask, Falcon and Flask+PyTorch, same machine,
same NGINX, same run. One command runs everything and prints the table; it also writes
bench/results/<timestamp>.md, .json and .png.

Workloads (--models): "default" and "seedlike" (MNIST digits, PNG bodies), "photo" (the photo
model model/nsfw-mobilenetv2 on real photographs, one per request) and "photo-batch" (the
same, 16 photos per request, predictd's {"images": [...]} form); or an ONNX path (digits).

  bench/run --predictd /tmp/build-bench/predictd              # full run (see bench/README.md)
  bench/run --predictd /tmp/build-bench/predictd --quick      # seconds; what CTest runs
  bench/run --render bench/results/<timestamp>.json           # re-make .md/.png from a run

Owns the schedule: per workload, the in-process ceilings, the configuration sweep of each stack
(gunicorn worker class and count for the peers, worker count for predictd), then R rounds in which every stack in turn is started (cold start timed), checked (known
digits or photos must come back with their reference answers), loaded with wrk at each
concurrency and (digits) with Locust, and
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
import photo_bodies  # noqa: E402
import report  # noqa: E402
import stacks as stacks_mod  # noqa: E402

PHOTO_MODEL = "model/nsfw-mobilenetv2/1/model.onnx"
WORKLOADS = {  # name -> (ONNX file, request path, images per request)
    "default": ("model/mnist/1/model.onnx", "digits", 1),
    "seedlike": ("model/mnist-seedlike.onnx", "digits", 1),
    "photo": (PHOTO_MODEL, "photo", 1),
    "photo-batch": (PHOTO_MODEL, "photo", photo_bodies.BATCH),
}
# wrk connections per workload: the photo peers answer ~50-100 ms a photo, so a batch of 16 at
# 64 connections would queue longer than any timeout; its top level is 16.
LEVELS = {"digits": "1,8,64,256", "photo": "1,8,64", "photo-batch": "1,4,16"}
QUICK_LEVELS = {"digits": "1,8", "photo": "1,8", "photo-batch": "2"}
# A batch of 16 photos takes a Python peer about a second: its wrk runs last at least this
# long (seconds; quick, full), so that each level completes enough requests to count.
BATCH_MIN_DURATION = (4.0, 10.0)
WRK_TIMEOUT_S = {"digits": 10, "photo": 30}
ALL_STACKS = ["predictd", "flask", "falcon", "flask-torch"]
PEER_CONFIGS = "gevent:2,gevent:4,sync:2,sync:3,sync:4,gthread:2,gthread:4"


class Abort(Exception):
    pass


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="seconds, small counts, workloads default and photo (whose checks "
                         "post the known photos one by one and as a batch to every stack), no "
                         "sweep: checks that every stack answers and every row is in the "
                         "report, never speed")
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
    ap.add_argument("--models", default=None,
                    help="comma list of workloads: default,seedlike,photo,photo-batch or ONNX "
                         "paths (digits) (default all four; quick: default,photo)")
    ap.add_argument("--photo-limit", type=int, default=None,
                    help="photographs used by the photo workloads (default all, ~200; quick 16)")
    ap.add_argument("--model-ceiling-binary", default=None,
                    help="bench_model_ceiling (default: bench/ beside the predictd binary)")
    ap.add_argument("--decode-cost-binary", default=None,
                    help="bench_decode_cost (default: bench/ beside the predictd binary)")
    ap.add_argument("--stacks", default=",".join(ALL_STACKS))
    ap.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 1)")
    ap.add_argument("--duration", type=float, default=None,
                    help="wrk seconds per concurrency level (default 4, quick 1)")
    ap.add_argument("--concurrency", default=None,
                    help="wrk levels for every workload (default 1,8,64,256 digits, 1,8,64 "
                         "photo, 1,4,16 photo-batch; quick 1,8 / 1,8 / 1,4)")
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
    ap.add_argument("--max-minutes", type=float, default=75.0,
                    help="abort (cleanly) when the run takes longer than this")
    ap.add_argument("--keep-workdir", action="store_true",
                    help="keep the per-run temp dir (logs, NGINX configs) even on success")
    ap.add_argument("--out", default=None,
                    help="results directory (default bench/results; quick: a temp dir)")
    a = ap.parse_args(argv)
    q = a.quick
    models_given = a.models is not None
    # Quick leaves photo-batch's wrk runs out: a batch of 16 takes a Python peer 1-2 s, too
    # slow to count answers in a few seconds on a loaded machine; the batch form is still
    # checked on every stack by the photo workload's known answers.
    a.models = (a.models or ("default,photo" if q else
                             "default,seedlike,photo,photo-batch")).split(",")
    a.stacks = a.stacks.split(",")
    a.rounds = a.rounds or (1 if q else 3)
    a.duration = a.duration or (1.0 if q else 4.0)
    a.levels = [int(c) for c in a.concurrency.split(",")] if a.concurrency else None
    a.photo_limit = a.photo_limit or (16 if q else None)
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
    tools = os.path.join(os.path.dirname(os.path.abspath(a.predictd)), "bench")
    a.model_ceiling_binary = a.model_ceiling_binary or os.path.join(tools, "bench_model_ceiling")
    a.decode_cost_binary = a.decode_cost_binary or os.path.join(tools, "bench_decode_cost")
    if a.predictd_config is None and os.path.exists(os.path.join(REPO, "config", "predictd.ini")):
        a.predictd_config = os.path.join(REPO, "config", "predictd.ini")
    unknown = set(a.stacks) - set(ALL_STACKS)
    if unknown:
        ap.error(f"unknown stacks {sorted(unknown)}; choose from {ALL_STACKS}")
    if "predictd" in a.stacks and not os.access(a.predictd, os.X_OK):
        ap.error(f"predictd binary {a.predictd} not found (--predictd or $PREDICTD_BINARY)")
    a.out = a.out or (os.path.join(tempfile.gettempdir(), "predictd-bench-quick") if q
                      else os.path.join(HERE, "results"))
    a.skipped = {}
    for m in list(a.models):
        why = missing_inputs(m, q)
        if why and models_given:
            ap.error(f"workload {m}: {why}")
        if why:                      # a default workload whose inputs are not fetched: say so
            a.models.remove(m)
            a.skipped[m] = why
    return a


def missing_inputs(name, quick):
    """Why a workload cannot run here (its model or photographs are missing), or None. A full
    run needs the ~200 Debian photographs; quick mode makes do with the model's samples."""
    model_file, kind, _ = WORKLOADS.get(name, (name, "digits", 1))
    path = os.path.join(REPO, model_file)
    if not os.path.exists(path):
        return f"model {path} not found" + (" (tools/fetch-models)" if kind == "photo" else "")
    if kind == "photo":
        model_dir = os.path.dirname(os.path.dirname(path))
        found = len(photo_bodies.sources(model_dir))
        if found == 0 or (found < photo_bodies.MIN_SOURCES and not quick):
            return photo_bodies.missing_photos(model_dir, found)
    return None


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
        self.photo_cache = {}       # model path -> its inference ceiling and decode sample
        self.swept = {}             # photo model path -> (workload, best config per stack)

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

    def stack(self, name, w, config, tag):
        return stacks_mod.Stack(name, w.model_path, config, os.path.join(self.root, tag), self.a,
                                w.kind)

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

    def wrk(self, st, w, connections, seconds):
        """One wrk run (the caller settles the stack first: settle())."""
        return load.wrk(st.port, w.bodies_file, connections, seconds, self.a.wrk_threads,
                        timeout_s=WRK_TIMEOUT_S[w.kind])

    @staticmethod
    def settle(st, limit_s=30.0):
        """Wait until the stack is idle (under 10 % of a core for 0.2 s). When wrk stops, the
        requests it had in flight are still being computed (NGINX drops the client, not the
        upstream's work): at 64 connections that is seconds of photo work, which would
        otherwise be counted against the next run."""
        deadline = time.monotonic() + limit_s
        before = st.cpu()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = st.cpu()
            if (now["app"] + now["nginx"]) - (before["app"] + before["nginx"]) < 0.02:
                return
            before = now
    def sweep(self, w):
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
                st = self.stack(peer, w, cfg, f"{w.name}/sweep/{peer}-{cfg[0]}{cfg[1]}")
                entry = {"stack": peer, "config": list(cfg), "connections": w.top}
                try:
                    err = st.start(w.known)
                    if err:
                        entry["error"] = err
                    else:
                        self.wrk(st, w, min(8, w.top), 1)
                        self.settle(st)
                        entry["wrk"] = self.wrk(st, w, w.top, max(self.a.sweep_duration,
                                                                  w.duration / 2))
                        entry["cold_start_s"] = st.cold_start_s
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    entry["error"] = str(e)
                finally:
                    st.stop()
                self.log(f"sweep {w.name} {peer} {cfg}: "
                         f"{entry['wrk']['rps']:.1f} req/s" if "wrk" in entry else
                         f"sweep {w.name} {peer} {cfg}: {entry.get('error')}")
                out.append(entry)
            ok = [e for e in out if e["stack"] == peer and "wrk" in e]
            # Best by throughput at the top level; failures disqualify unless all fail.
            clean = [e for e in ok if not e["wrk"]["failures"]] or ok
            best[peer] = tuple(max(clean, key=lambda e: e["wrk"]["rps"])["config"]) if clean \
                else tuple(cfgs[0])
        return out, best

    def turn(self, name, w, cfg, rnd):
        a = self.a
        st = self.stack(name, w, cfg, f"{w.name}/r{rnd}/{name}")
        t = {"stack": name, "round": rnd, "config": list(cfg), "wrk": {}}
        try:
            err = st.start(w.known)
            t["cold_start_s"] = st.cold_start_s
            if err:
                t["error"] = err
                self.log(f"{w.name} r{rnd} {name}: FAILED {err}")
                return t
            self.wrk(st, w, min(8, w.top), 1)  # warm-up
            t["load_errors"] = []
            for c in w.levels:
                self.check_time()
                self.settle(st)
                try:
                    r = self.loaded(st, lambda: self.wrk(st, w, c, w.duration))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    t["load_errors"].append(f"wrk c{c}: {type(e).__name__}: {e}")
                    self.log(f"{w.name} r{rnd} {name} c{c}: FAILED {e}")
                    continue
                t["wrk"][str(c)] = r
                self.log(f"{w.name} r{rnd} {name} c{c}: {r['rps']:.1f} req/s "
                         f"p99 {r['latency_ms']['p99']:.1f} ms failures {r['failures']}")
            self.settle(st)
            t["pss"] = st.pss()
            if w.locust:
                self.check_time()
                try:
                    r = self.loaded(st, lambda: load.locust(
                        st.port, w.bodies_file, a.locust_users, a.spawn_rate, a.locust_duration,
                        a.think, st.dir))
                    t["locust"] = r
                    self.log(f"{w.name} r{rnd} {name} locust: {r['requests']} reqs "
                             f"{r['failures']} fails p95 {r['latency_ms']['p95']} ms")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    t["load_errors"].append(f"locust: {type(e).__name__}: {e}")
                    self.log(f"{w.name} r{rnd} {name} locust: FAILED {e}")
            self.settle(st)
            t["after_load_error"] = stacks_mod.check_answers(st.port, w.known)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            t["error"] = f"{type(e).__name__}: {e}"
            self.log(f"{w.name} r{rnd} {name}: FAILED {t['error']}")
        finally:
            st.stop()
            t["nginx_errors"] = st.nginx_errors()
        return t

    def workload(self, name):
        """The workload's model, bodies, known answers and load levels."""
        a = self.a
        model_file, kind, per_request = WORKLOADS.get(name, (name, "digits", 1))
        w = argparse.Namespace(name=name, kind=kind, images_per_request=per_request,
                               model_path=os.path.join(REPO, model_file))
        if not os.path.exists(w.model_path):
            raise Abort(f"model {w.model_path} not found")
        os.makedirs(os.path.join(self.root, name), exist_ok=True)
        key = name if name in LEVELS else kind
        w.levels = a.levels or [int(c) for c in (QUICK_LEVELS if a.quick else LEVELS)[key]
                                .split(",")]
        w.top = 64 if 64 in w.levels else max(w.levels)
        w.duration = a.duration if per_request == 1 else \
            max(a.duration, BATCH_MIN_DURATION[0 if a.quick else 1])
        w.locust = kind == "digits" and not a.no_locust
        if kind == "digits":
            bodies = bodies_mod.Bodies(w.model_path, limit=1000)
            w.bodies_file = bodies.write(os.path.join(self.root, name, "bodies.jsonl"))
            w.known = bodies.known_digits()
            w.bodies, w.description = len(bodies.bodies), None
        else:
            pb = photo_bodies.PhotoBodies(w.model_path, limit=a.photo_limit, log=self.log)
            w.photos = pb
            w.bodies_file = pb.batch_file if per_request > 1 else pb.single_file
            # Every stack answers both forms; the known photos are checked one by one and as
            # one batch, whichever form the workload posts.
            w.known = list(pb.known) + [pb.known_batch]
            w.bodies = len(pb.meta["batches"]) if per_request > 1 else len(pb.images)
            w.description = pb.describe()
        return w

    def photo_ceilings(self, w, mres):
        """Inference (predictd's engine, and the peers'), decode + preprocess, and combined."""
        a, cpus = self.a, os.cpu_count()
        cache = self.photo_cache.setdefault(w.model_path, {})
        if "inference" not in cache and os.access(a.model_ceiling_binary, os.X_OK):
            cache["inference"] = ceiling.model_ceiling(a.model_ceiling_binary, w.model_path,
                                                       a.ceiling_seconds, [1, 4, 8, 16], cpus)
            if not a.quick:          # the peers' engines on the same photos, for context
                listing = os.path.join(self.root, "ceiling-photos.txt")
                with open(listing, "w") as f:
                    f.write("\n".join(os.path.join(w.photos.dir, im["file"])
                                      for im in w.photos.images[:16]))
                for backend in ["opencv"] + (["torch"] if "flask-torch" in a.stacks else []):
                    cache[backend] = ceiling.measure(w.model_path, backend, a.ceiling_seconds,
                                                     [1, 16], cpus, photos=listing)
        shares = w.photos.shares(w.images_per_request > 1)
        if "decode" not in cache and os.access(a.decode_cost_binary, os.X_OK):
            cache["decode"] = ceiling.decode_cost(a.decode_cost_binary, w.model_path,
                                                  w.photos.sample(1 if a.quick else 8), shares)
        if "inference" in cache:
            mres["ceiling"]["onnxruntime-cpp"] = cache["inference"]
        for backend in ("opencv", "torch"):
            if backend in cache:
                mres["ceiling"][backend] = cache[backend]
        if "decode" in cache:
            mres["decode"] = ceiling.reweight(cache["decode"], shares)
        if "inference" in cache and "decode" in mres:
            mres["combined"] = ceiling.combined(cache["inference"], mres["decode"],
                                                w.images_per_request, cpus)
        else:
            self.log(f"{w.name}: no photo ceiling: {a.model_ceiling_binary} or "
                     f"{a.decode_cost_binary} missing (--model-ceiling-binary, "
                     "--decode-cost-binary)")

    def model(self, name):
        a = self.a
        w = self.workload(name)
        mres = {"model_file": os.path.relpath(w.model_path, REPO), "workload": w.kind,
                "images_per_request": w.images_per_request, "levels": w.levels,
                "duration": w.duration,
                "macs": model_macs(w.model_path), "bodies": w.bodies,
                "bodies_description": w.description, "loadavg_start": loadavg(),
                "ceiling": {}, "rounds": []}
        if w.locust:
            mres["locust_params"] = {"users": a.locust_users, "spawn_rate": a.spawn_rate,
                                     "seconds": a.locust_duration, "think": list(a.think)}
        self.log(f"{name}: ceiling")
        if w.kind == "digits":
            if self.ceiling_binary:
                mres["ceiling"]["opencv-cpp"] = ceiling.measure(
                    w.model_path, "opencv-cpp", a.ceiling_seconds, [1, 4, 16, 64],
                    os.cpu_count(), self.ceiling_binary)
            mres["ceiling"]["opencv"] = ceiling.measure(w.model_path, "opencv",
                                                        a.ceiling_seconds, [1, 4, 16, 64],
                                                        os.cpu_count())
            mres["layers"] = ceiling.layer_profile(w.model_path, 60 if a.quick else 300)
            if "flask-torch" in a.stacks:
                mres["ceiling"]["torch"] = ceiling.measure(w.model_path, "torch",
                                                           a.ceiling_seconds, [1, 16, 64],
                                                           os.cpu_count())
        else:
            self.photo_ceilings(w, mres)
        self.log(f"{name}: ceiling " + json.dumps(
            {k: round(v[str(os.cpu_count())]["batch1_ips"], 1) for k, v in mres["ceiling"].items()})
            + " img/s batch 1" + (f"; combined {mres['combined']['ips']:.1f} img/s"
                                  if mres.get("combined") else ""))
        best = {}
        if (a.sweep or a.predictd_sweep) and w.model_path in self.swept:
            # The same model and request path: photo-batch takes what the photo sweep chose.
            mres["sweep_from"], best = self.swept[w.model_path]
        elif a.sweep or a.predictd_sweep:
            mres["sweep"], best = self.sweep(w)
            if w.kind == "photo":
                self.swept[w.model_path] = (name, best)
        configs = {s: best.get(s, stacks_mod.SEED_CONFIG) for s in a.stacks}
        configs["predictd"] = best.get("predictd", ("prefork", a.predictd_workers))
        for rnd in range(a.rounds):
            for stack_name in a.stacks:
                self.check_time()
                mres["rounds"].append(self.turn(stack_name, w, configs[stack_name], rnd))
        mres["summary"] = report.summarise(mres, a.stacks, w.levels)
        mres["ratios"] = report.ratios(mres)
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
            with_locust = "locust_params" in mres
            if with_locust:
                if loc is None:
                    problems.append(f"{model_name}/{name}: locust reported nothing")
                elif loc.get("failures_total"):
                    problems.append(f"{model_name}/{name}: locust saw {loc['failures_total']} "
                                    "failures")
            label = report.stack_label(name, s)
            rows = sum(1 for line in md.splitlines() if line.startswith(f"| {label} |"))
            want = len(mres["levels"]) + 1 + (1 if with_locust else 0)
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
        mres["summary"] = report.summarise(mres, m["stacks"], mres.get("levels", m["levels"]))
        mres["ratios"] = report.ratios(mres)
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
        "workdir": workroot, "skipped": a.skipped}, "models": {}}
    bench.log(f"work dir {workroot}; load average {loadavg()}")
    for m, why in a.skipped.items():
        bench.log(f"SKIPPED workload {m}: {why}")
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
            mres["summary"] = report.summarise(mres, a.stacks, mres["levels"])
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
