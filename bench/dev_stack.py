"""bench/dev_stack.py — predictd behind NGINX from the repo's dev template, for the small
benchmark tools (compare_builds.py, soak.py): start/stop, the held-out request bodies, one wrk
run parsed from post_digits.lua's summary. (bench/run's stacks.py does the same for every
stack, with more bookkeeping.)"""
import base64, glob, json, os, re, shutil, signal, socket, subprocess, tempfile, time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_bodies(path):
    """The 1 000 held-out digits as {"image": base64 PNG} lines."""
    rec = np.fromfile(os.path.join(ROOT, "tests/data/heldout-1000.bin"), np.uint8).reshape(-1, 785)
    with open(path, "w") as f:
        for r in rec:
            ok, png = cv2.imencode(".png", r[1:].reshape(28, 28))
            f.write(json.dumps({"image": base64.b64encode(png.tobytes()).decode()}) + "\n")


def session_cpu_seconds(sid):
    """User + system CPU seconds of the live processes of session `sid` (a process started with
    start_new_session: predictd's supervisor and workers, or NGINX's master and workers)."""
    ticks = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields[0] is the state; the session is field 6 of stat(5)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class DevStack:
    """`with DevStack(binary, model, flags, workers) as s:` — s.port, s.predictd (Popen).
    `model`: an .onnx file (--model) or a model repository directory (--model-repository)."""

    def __init__(self, binary, model, flags=(), workers=2, log=None):
        self.binary, self.model, self.flags, self.workers, self.log = binary, model, list(flags), workers, log

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="predictd-dev-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        sock = os.path.join(self.tmp, "p.sock")
        conf = open(os.path.join(ROOT, "nginx/predictd-dev.conf.in")).read()
        for k, v in {"@PREFIX@": self.tmp, "@LISTEN@": f"127.0.0.1:{self.port}",
                     "@SOCKET@": sock,
                     "@CONTROL_SOCKET@": sock[:-len(".sock")] + "-control.sock", "@SOURCE_DIR@": ROOT}.items():
            conf = conf.replace(k, v)
        open(os.path.join(self.tmp, "nginx.conf"), "w").write(conf)
        out = self.log or subprocess.DEVNULL
        source = "--model-repository" if os.path.isdir(self.model) else "--model"
        self.predictd = subprocess.Popen([self.binary, "--listen", "unix:" + sock, "--socket-mode", "0666",
                                          "--workers", str(self.workers), source, self.model] + self.flags,
                                         stdout=out, stderr=out, start_new_session=True)
        self.nginx = subprocess.Popen(["nginx", "-p", self.tmp, "-c", os.path.join(self.tmp, "nginx.conf"),
                                       "-e", "stderr"], stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(300):
            if subprocess.run(["curl", "-fs", f"http://127.0.0.1:{self.port}/ready"],
                              capture_output=True).returncode == 0:
                return self
            time.sleep(0.1)
        self.__exit__()
        raise SystemExit("predictd did not become ready within 30 s")

    def cpu_seconds(self):
        """CPU seconds used so far by predictd's and NGINX's live processes."""
        return session_cpu_seconds(self.predictd.pid) + session_cpu_seconds(self.nginx.pid)

    def __exit__(self, *exc):
        self.predictd.send_signal(signal.SIGTERM)
        self.nginx.send_signal(signal.SIGQUIT)
        self.predictd.wait(timeout=30)
        self.nginx.wait(timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def wrk(port, conns, seconds, bodies):
    """One closed-loop wrk run; post_digits.lua's summary as a dict (requests, duration_s,
    errors{...}, latency_ms{...}), plus "failures" = every error summed."""
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "-s",
                          os.path.join(ROOT, "bench/post_digits.lua"), f"http://127.0.0.1:{port}",
                          "--", bodies], capture_output=True, text=True, timeout=seconds + 30).stdout
    j = json.loads(re.search(r"WRK_JSON (.*)", out).group(1))
    j["failures"] = sum(j["errors"].values())
    return j
