#!/usr/bin/python3
"""tests/deploy/pod_locally.py — the predictd pod of deploy/kubernetes/ run on this machine
without a container engine: the real predictd and Debian's NGINX started with the pod's own
settings (the ConfigMap's predictd.ini and nginx.conf, and nginx/predictd-locations.conf), its
paths moved into a temporary directory (/run/predictd -> the shared-emptyDir stand-in, /tmp,
/etc/...), NGINX on a free loopback port instead of 8080.

Default (the CTest test deploy_pod_locally): the probes' routes answer 200, predictions through
NGINX are right, and the pod's shutdown order works: predictd's preStop hook, taken from
deployment.yaml, waits for NGINX's graceful stop (SIGQUIT, with a request in flight, which must
be answered) and returns once NGINX is gone; then SIGTERM stops predictd with exit 0 and its
sockets removed.

--measure SECONDS: the figures the Deployment's resources come from (README, "Kubernetes"): a
bounded load of digits and photos (4 clients), PSS of predictd's and NGINX's process trees
sampled every 0.1 s (bench/stacks.py's pss_kib, as bench/run measures stacks), then the
costliest requests the limits accept, each sent to every worker at once, 3 rounds: the largest
decode (a 2896 x 2896 16-bit RGBA PNG: 64 MiB of pixels, the decode budget) and the largest
forward pass (max_batch = 64 small images in one request to the photo model: ONNX Runtime's
arena grows to the largest batch a worker has run, and keeps it). Prints a table and one JSON
line.
Usage: pod_locally.py PATH-TO-predictd [--measure SECONDS]"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from stacks import pss_kib, tree  # noqa: E402  (bench/stacks.py: how bench/run measures PSS)

PHOTO = os.path.join(ROOT, "model/nsfw-mobilenetv2/self_check.jpg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, path, body=None, timeout=60):
    """(status, body bytes) of one HTTP request to the pod's NGINX; (0, reason) on no answer."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def image_body(path, copies=1):
    with open(path, "rb") as f:
        b64 = base64.b64encode(f.read()).decode()
    if copies == 1:
        return json.dumps({"image": b64}).encode()
    return json.dumps({"images": [b64] * copies}).encode()


class Pod:
    """The two containers as local processes, in a temporary directory laid out as the pod."""

    def __init__(self, binary):
        with open(os.path.join(ROOT, "deploy/kubernetes/configmap.yaml"), encoding="utf-8") as f:
            self.data = yaml.safe_load(f)["data"]
        with open(os.path.join(ROOT, "deploy/kubernetes/deployment.yaml"), encoding="utf-8") as f:
            self.deployment = yaml.safe_load(f)
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="predictd-pod-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.predictd = self.nginx = None

    def path(self, p):
        """A pod path in the temporary directory."""
        return self.dir + p

    def start(self):
        for d in ("/run/predictd", "/tmp", "/etc/predictd", "/etc/nginx/predictd"):
            os.makedirs(self.path(d), exist_ok=True)
        ini = self.data["predictd.ini"].replace("/run/predictd/", self.path("/run/predictd/"))
        ini = ini.replace("repository = /usr/share/predictd/models",
                          "repository = " + os.path.join(ROOT, "model"))
        conf = self.data["nginx.conf"]
        # /tmp first: the temporary directory is itself under /tmp.
        for a, b in ((" /tmp/", " " + self.path("/tmp/")),
                     ("/run/predictd/", self.path("/run/predictd/")),
                     ("/etc/nginx/predictd/", self.path("/etc/nginx/predictd/")),
                     ("listen 8080;", f"listen 127.0.0.1:{self.port};"),
                     ("$predictd_openapi_dir /usr/share/predictd;",
                      "$predictd_openapi_dir " + os.path.join(ROOT, "docs") + ";"),
                     ("$predictd_web_dir /usr/share/predictd/web;",
                      "$predictd_web_dir " + os.path.join(ROOT, "web") + ";")):
            if a not in conf:
                raise SystemExit(f"pod_locally: nginx.conf has no {a!r} to move")
            conf = conf.replace(a, b)
        if os.geteuid() == 0:
            # As root, NGINX's workers would run as nobody, outside predictd's group; in the pod
            # both run in group 10001 (runAsGroup).
            conf = "user root root;\n" + conf
        files = {"/etc/predictd/predictd.ini": ini, "/etc/nginx/predictd/nginx.conf": conf,
                 "/etc/nginx/predictd/predictd-locations.conf":
                 self.data["predictd-locations.conf"]}
        for p, text in files.items():
            with open(self.path(p), "w", encoding="utf-8") as f:
                f.write(text)
        p_args = self.deployment_container("predictd")["args"]
        n_args = self.deployment_container("nginx")["args"]
        self.predictd = subprocess.Popen(
            [self.binary] + [a.replace("/etc/", self.path("/etc/")) for a in p_args],
            stdout=open(self.path("/predictd.log"), "w"), stderr=subprocess.STDOUT)
        self.nginx = subprocess.Popen(
            ["nginx"] + [a.replace("/etc/", self.path("/etc/")) for a in n_args],
            stdout=open(self.path("/nginx.log"), "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60  # the startupProbe's budget: 30 x 2 s
        while time.monotonic() < deadline:
            if request(self.port, "/v2/health/ready", timeout=3)[0] == 200:
                return
            if self.predictd.poll() is not None or self.nginx.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("pod_locally: the pod never got ready\n" + self.logs())

    def deployment_container(self, name):
        spec = self.deployment["spec"]["template"]["spec"]
        return next(c for c in spec["containers"] if c["name"] == name)

    def prestop_hook(self):
        """predictd's preStop command as the kubelet runs it: $$ is Kubernetes' escape for $;
        paths moved; the first sleep (for the endpoint removal to spread) shortened."""
        cmd = self.deployment_container("predictd")["lifecycle"]["preStop"]["exec"]["command"]
        cmd = [c.replace("$$", "$").replace("/run/predictd/", self.path("/run/predictd/"))
               for c in cmd]
        cmd[-1] = re.sub(r"^sleep \d+;", "sleep 0;", cmd[-1])
        return cmd

    def logs(self):
        out = ""
        for name in ("predictd.log", "nginx.log"):
            try:
                with open(self.path("/" + name), errors="replace") as f:
                    out += f"--- {name}\n" + f.read()[-3000:]
            except OSError:
                pass
        return out

    def stop(self):
        for proc, sig in ((self.nginx, signal.SIGQUIT), (self.predictd, signal.SIGTERM)):
            if proc and proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def smoke(pod, fails):
    for path in ("/v2/health/ready", "/v2/health/live", "/ready", "/health"):
        status, body = request(pod.port, path)
        if status != 200:
            fails.append(f"GET {path}: {status} {body[:200]!r}")
    status, body = request(pod.port, "/openapi.json")
    with open(os.path.join(ROOT, "docs/openapi.json"), "rb") as f:
        if status != 200 or body != f.read():
            fails.append(f"GET /openapi.json: {status}, not docs/openapi.json")
    status, body = request(pod.port, "/")
    with open(os.path.join(ROOT, "web/index.html"), "rb") as f:
        if status != 200 or body != f.read():
            fails.append(f"GET /: {status}, not web/index.html")
    for digit in (3, 7):
        status, body = request(pod.port, "/predict",
                               image_body(os.path.join(ROOT, f"tests/data/samples/digit-{digit}.png")))
        if status != 200 or json.loads(body).get("prediction") != digit:
            fails.append(f"POST /predict digit-{digit}.png: {status} {body[:200]!r}")
    status, body = request(pod.port, "/models/nsfw-mobilenetv2/predict", image_body(PHOTO))
    if status != 200:
        fails.append(f"POST /models/nsfw-mobilenetv2/predict: {status} {body[:200]!r}")


def shutdown_order(pod, fails):
    """predictd's preStop hook + NGINX's SIGQUIT (both after their own sleeps in the pod), a
    request in flight; then SIGTERM to predictd."""
    result = {}
    body = image_body(PHOTO, copies=24)  # ~0.4 s of work for one worker

    def in_flight():
        result["answer"] = request(pod.port, "/models/nsfw-mobilenetv2/predict", body,
                                   timeout=60)
        result["at"] = time.monotonic()

    client = threading.Thread(target=in_flight)
    client.start()
    # In flight = a worker holds it: with 2 workers, /status (answered by the other one, busy
    # with the status request itself) shows both busy.
    seen, deadline = False, time.monotonic() + 20
    while not seen and time.monotonic() < deadline and "answer" not in result:
        status, page = request(pod.port, "/status?full", timeout=5)
        if status == 200:
            seen = sum(w.get("state") == "busy" for w in json.loads(page)["workers"]) >= 2
        if not seen:
            time.sleep(0.01)
    if not seen:
        fails.append("never saw the 24-photo request held by a worker")
    hook = subprocess.Popen(pod.prestop_hook())
    quit_at = time.monotonic()
    pod.nginx.send_signal(signal.SIGQUIT)
    try:
        hook.wait(timeout=60)
    except subprocess.TimeoutExpired:
        hook.kill()
        fails.append("predictd's preStop hook did not return within 60 s")
    hook_done = time.monotonic()
    client.join(timeout=60)
    if pod.nginx.poll() is None:
        fails.append("predictd's preStop hook returned while NGINX was still running")
    elif os.path.exists(pod.path("/run/predictd/nginx.pid")):
        fails.append("NGINX exited without removing its pid file")
    status, answer = result.get("answer", (0, b"no answer"))
    try:
        answered = len(json.loads(answer).get("predictions", []))
    except ValueError:
        answered = 0
    if status != 200 or answered != 24:
        fails.append(f"the request in flight at NGINX's SIGQUIT got {status} {answer[:200]!r}")
    print(f"NGINX drained and exited, preStop hook returned {hook_done - quit_at:.2f} s after "
          f"SIGQUIT; the request in flight was answered "
          f"{result.get('at', quit_at) - quit_at:+.2f} s after it ({status})")
    pod.predictd.send_signal(signal.SIGTERM)
    try:
        code = pod.predictd.wait(timeout=35)  # graceful_timeout 30 s
        if code != 0:
            fails.append(f"predictd exited {code} on SIGTERM")
    except subprocess.TimeoutExpired:
        fails.append("predictd did not exit within graceful_timeout after SIGTERM")
    left = [n for n in os.listdir(pod.path("/run/predictd")) if n.endswith(".sock")]
    if left:
        fails.append(f"sockets left in the shared directory: {left}")


def worst_png():
    """A 2896 x 2896 16-bit RGBA PNG: 67 094 528 bytes of pixels, just within
    limits.max_decode_bytes (64 MiB); identical rows, so the file is small."""
    w = h = 2896
    row = b"\x00" + bytes(range(256)) * (w * 8 // 256) + bytes(w * 8 % 256)
    raw = zlib.compress(row * h, 6)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def small_png(side=224):
    """A side x side 8-bit RGB PNG (grey), a few hundred bytes: 64 of them fit in one body."""
    raw = zlib.compress((b"\x00" + b"\x80" * (side * 3)) * side, 9)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def measure(pod, seconds):
    samples = {"predictd": [], "nginx": []}
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples["predictd"].append(pss_kib(tree(pod.predictd.pid)))
            samples["nginx"].append(pss_kib(tree(pod.nginx.pid)))
            time.sleep(0.1)

    idle = {"predictd": pss_kib(tree(pod.predictd.pid)), "nginx": pss_kib(tree(pod.nginx.pid))}
    bodies = [image_body(os.path.join(ROOT, f"tests/data/samples/digit-{d}.png"))
              for d in range(10)]
    photos = sorted(os.path.join(ROOT, "model/nsfw-mobilenetv2/samples", n)
                    for n in os.listdir(os.path.join(ROOT, "model/nsfw-mobilenetv2/samples")))
    photo_bodies = [image_body(p) for p in photos] + [image_body(PHOTO, copies=8)]
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(k):
        i = 0
        while time.monotonic() < end and i < 20000:  # bounded in time and count
            if i % 2:
                status, _ = request(pod.port, "/predict", bodies[(i + k) % 10])
            else:
                status, _ = request(pod.port, "/models/nsfw-mobilenetv2/predict",
                                    photo_bodies[(i + k) % len(photo_bodies)])
            with lock:
                counts["ok" if status == 200 else "other"] += 1
            i += 1

    t = threading.Thread(target=sampler)
    t.start()
    clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    after_load = {k: v[-1] for k, v in samples.items()}
    load_peak = {k: max(v) for k, v in samples.items()}
    n = len(samples["predictd"])

    workers = int(re.search(r"^workers = (\d+)$", pod.data["predictd.ini"], re.M).group(1))
    costliest = {
        "decode": json.dumps({"image": base64.b64encode(worst_png()).decode()}).encode(),
        "batch": json.dumps({"images": [base64.b64encode(small_png()).decode()] * 64}).encode()}
    worst_status, worst_peak = {}, {}
    for name, body in costliest.items():
        statuses = worst_status.setdefault(name, [])
        for _ in range(3):
            ts = [threading.Thread(target=lambda: statuses.append(
                request(pod.port, "/models/nsfw-mobilenetv2/predict", body)[0]))
                for _ in range(workers)]
            for x in ts:
                x.start()
            for x in ts:
                x.join()
        time.sleep(0.3)  # the sampler's last look
        worst_peak[name] = {k: max(v[n:] or [0]) for k, v in samples.items()}
        n = len(samples["predictd"])
    stop.set()
    t.join()
    final = {"predictd": pss_kib(tree(pod.predictd.pid)), "nginx": pss_kib(tree(pod.nginx.pid))}
    procs = {"predictd": len(tree(pod.predictd.pid)), "nginx": len(tree(pod.nginx.pid))}
    mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
    print(f"load: {seconds} s, 4 clients, digits and photos alternately: {counts['ok']} answered "
          f"200, {counts['other']} other; costliest requests x {workers} at once, 3 rounds each: "
          f"{worst_status}")
    print("| container | processes | PSS idle MiB | after load | peak under load | "
          "peak, largest decode | peak, largest batch | after all |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in ("predictd", "nginx"):
        print(f"| {k} | {procs[k]} | {mib(idle[k])} | {mib(after_load[k])} | {mib(load_peak[k])} "
              f"| {mib(worst_peak['decode'][k])} | {mib(worst_peak['batch'][k])} "
              f"| {mib(final[k])} |")
    print(json.dumps({"seconds": seconds, "requests": counts, "worst_status": worst_status,
                      "processes": procs, "idle_kib": idle, "after_load_kib": after_load,
                      "load_peak_kib": load_peak, "worst_peak_kib": worst_peak,
                      "final_kib": final}))


def main():
    args = sys.argv[1:]
    if not args or not os.access(args[0], os.X_OK) or (len(args) > 1 and args[1] != "--measure"):
        print("usage: pod_locally.py PATH-TO-predictd [--measure SECONDS]", file=sys.stderr)
        return 2
    if not os.path.isfile(PHOTO):
        print("pod_locally: no photo model (run tools/fetch-models)", file=sys.stderr)
        return 1
    pod = Pod(args[0])
    fails = []
    try:
        pod.start()
        smoke(pod, fails)
        if len(args) == 3:
            measure(pod, float(args[2]))
        else:
            shutdown_order(pod, fails)
    finally:
        if fails:
            print(pod.logs(), file=sys.stderr)
        pod.stop()
    for f in fails:
        print("FAIL " + f, file=sys.stderr)
    print(f"the pod run locally: {'FAILED' if fails else 'ok'}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
