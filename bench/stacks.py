"""The stacks under test: NGINX + predictd, NGINX + gunicorn + {Flask, Falcon, Flask/PyTorch}.

Owns: starting and stopping a stack (every process in its own process group, killed on exit
even on error), the NGINX config generated from bench/nginx.conf.in for every stack alike,
the readiness/correctness check, and the /proc accounting of a stack's process tree (CPU
seconds, PSS). Does not own load generation (load.py) or the schedule (run.py).
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
PYTHON = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PEER_APPS = {"flask": "flask_app:app", "falcon": "falcon_app:app", "flask-torch": "torch_app:app"}
SEED_CONFIG = ("gevent", 2)       # the seed article: gunicorn, 2 gevent workers
GTHREADS = 4                      # threads per gunicorn gthread worker (cv2.dnn releases the GIL)

# ---------------------------------------------------------------------------------------------
# Process groups: everything started here is registered and killed at exit.
# ---------------------------------------------------------------------------------------------

_live = {}


def spawn(argv, log_path, env=None, cwd=None):
    """Start argv in a new session (its own process group), stdout+stderr to log_path."""
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, cwd=cwd, start_new_session=True)
    log.close()
    _live[p.pid] = p
    return p


def stop(p, grace=5.0):
    """SIGTERM the process group, SIGKILL it after `grace` seconds."""
    if p is None or p.pid not in _live:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(p.pid, signal.SIGKILL)   # stragglers in the group, or a stuck leader
    except ProcessLookupError:
        pass
    try:
        p.wait(2)
    except subprocess.TimeoutExpired:
        pass
    _live.pop(p.pid, None)


def stop_all():
    for p in list(_live.values()):
        stop(p, grace=2.0)


atexit.register(stop_all)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# /proc accounting
# ---------------------------------------------------------------------------------------------

def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root_pid):
    """root_pid and all its descendants that are alive now."""
    kids, out, todo = _children_map(), [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pids):
    """utime+stime of each process plus cutime+cstime (children already reaped), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        total += sum(int(v) for v in fields[11:15])   # utime stime cutime cstime
    return total / CLK_TCK


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


# ---------------------------------------------------------------------------------------------
# HTTP check
# ---------------------------------------------------------------------------------------------

def post(port, body, timeout=5.0):
    """POST /predict -> (status, parsed JSON or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/predict", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        return r.status, doc
    finally:
        c.close()


def answer_problem(doc, expected):
    """Why doc is not the answer expected, or None. expected: a digit (int: the MNIST answer,
    10 probabilities), a label name (str: a labelled classifier, as the photo model answers)
    or a list of those (a batch: {"predictions": [...]} in order)."""
    if isinstance(expected, list):
        preds = doc.get("predictions") if isinstance(doc, dict) else None
        if not isinstance(preds, list) or len(preds) != len(expected):
            return f"want {len(expected)} predictions"
        for i, (d, e) in enumerate(zip(preds, expected)):
            p = answer_problem(d, e)
            if p:
                return f"predictions[{i}]: {p}"
        return None
    if not isinstance(doc, dict):
        return "not a JSON object"
    probs, pred = doc.get("probabilities"), doc.get("prediction")
    if not isinstance(probs, list) or len(probs) < 2:
        return "no probabilities"
    # predictd writes 4 decimals: a sum of 5 rounded values is within 2.5e-4 of 1.
    if abs(sum(probs) - 1.0) > 1e-3 or abs(doc.get("confidence", -1) - max(probs)) > 1e-4:
        return "probabilities do not sum to 1 or confidence is not their maximum"
    if isinstance(expected, int):
        if len(probs) != 10 or not isinstance(pred, int) or probs[pred] != max(probs):
            return "not a digit answer"
    if pred != expected:
        return f"predicted {pred!r}, want {expected!r}"
    return None


def check_answers(port, known):
    """Every known body must come back 200 with its expected answer. -> error or None"""
    for body, expected in known:
        try:
            status, doc = post(port, body, timeout=30.0)
        except OSError as e:
            return f"{expected}: {e}"
        problem = answer_problem(doc, expected) if status == 200 else f"HTTP {status}"
        if problem:
            return f"{expected}: {problem} ({str(doc)[:200]})"
    return None


# ---------------------------------------------------------------------------------------------
# Stacks
# ---------------------------------------------------------------------------------------------

_flags_cache = {}


def predictd_flags(binary):
    """predictd --help text (cached), to pass only flags the binary knows."""
    if binary not in _flags_cache:
        try:
            r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
            _flags_cache[binary] = r.stdout
        except (OSError, subprocess.TimeoutExpired):
            _flags_cache[binary] = ""
    return _flags_cache[binary]


class Stack:
    """One NGINX plus one application server (predictd or gunicorn), started together.

    name: "predictd" or a PEER_APPS key; config: (worker_class, workers) for gunicorn peers,
    ("prefork", workers) for predictd; gthread workers run GTHREADS threads each."""

    def __init__(self, name, model, config, workdir, opts, workload="digits"):
        self.name, self.model, self.config, self.opts = name, model, config, opts
        self.workload = workload        # "digits" or "photo": the peers' request path
        self.dir = workdir
        self.nginx = self.app = None
        self.port = None
        self.cold_start_s = None
        self.errlog_offset = 0

    @property
    def label(self):
        kind, n = self.config
        return f"{self.name} ({kind} x{n})"

    # -- NGINX ---------------------------------------------------------------------------------

    def _nginx_conf(self, upstream, keepalive, pass_lines):
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            text = f.read()
        prefix = os.path.join(self.dir, "nginx")
        os.makedirs(prefix, exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else "# (not root: no user directive)"
        for key, val in {"@USER@": user, "@WORKERS@": str(self.opts.nginx_workers),
                         "@PREFIX@": prefix, "@PORT@": str(self.port),
                         "@UPSTREAM@": upstream, "@UPSTREAM_KEEPALIVE@": keepalive,
                         "@PASS@": ("\n" + " " * 12).join(pass_lines)}.items():
            text = text.replace(key, val)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        return prefix, conf

    def _start_nginx(self, sock):
        self.port = free_port()
        if self.name == "predictd":
            # predictd workers serve one connection at a time: no fastcgi_keep_conn (see
            # shared FIELD-NOTES, "Keep-alive pins workers").
            prefix, conf = self._nginx_conf(f"unix:{sock}", "", [
                "include /etc/nginx/fastcgi_params;", "fastcgi_pass app;"])
        else:
            prefix, conf = self._nginx_conf(f"unix:{sock}", "keepalive 32;", [
                "proxy_http_version 1.1;", 'proxy_set_header Connection "";',
                "proxy_set_header Host $host;", "proxy_pass http://app;"])
        self.nginx = spawn(["nginx", "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log"],
                           os.path.join(self.dir, "nginx.out"))

    # -- application server -------------------------------------------------------------------

    def _app_argv(self, sock):
        kind, n = self.config
        if self.name == "predictd":
            argv = [self.opts.predictd, "--listen", f"unix:{sock}", "--workers", str(n),
                    "--model", self.model, "--threads-per-worker", "1"]
            if self.opts.predictd_config:
                argv[1:1] = ["--config", self.opts.predictd_config]
            if "--access-log" in predictd_flags(self.opts.predictd):
                argv += ["--access-log", "off"]   # gunicorn and NGINX log no requests either
            return argv + list(self.opts.predictd_arg or [])
        threads = ["--threads", str(GTHREADS)] if kind == "gthread" else []
        return [PYTHON, "-m", "gunicorn", "--chdir", PEERS, "--workers", str(n),
                "--worker-class", kind, *threads, "--bind", f"unix:{sock}", "--backlog", "2048",
                "--timeout", "120", "--log-level", "warning",
                # Longer than NGINX's upstream keepalive_timeout (60 s): otherwise gunicorn's
                # 2 s default closes idle kept-alive connections just as NGINX reuses one, and
                # the POST fails with 502 (NGINX does not retry non-idempotent requests).
                "--keep-alive", "75", PEER_APPS[self.name]]

    def start(self, known, timeout=60.0):
        """Start NGINX, then the app server; time app start -> first correct answer.
        known: [(body, expected answer)] (answer_problem); the first is timed.
        Returns None when every known body came back right, else an error string."""
        os.makedirs(self.dir, exist_ok=True)
        sock = os.path.join(self.dir, "app.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        self._start_nginx(sock)
        env = dict(os.environ, PEER_MODEL=self.model, PEER_THREADS="1", PEER_WORKLOAD=self.workload,
                   OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        first_body, first_label = known[0]
        t0 = time.monotonic()
        self.app = spawn(self._app_argv(sock), os.path.join(self.dir, "app.log"), env=env)
        deadline = t0 + timeout
        while True:
            if self.app.poll() is not None:
                return f"{self.name} exited with {self.app.returncode} (see {self.dir}/app.log)"
            if self.nginx.poll() is not None:
                return f"nginx exited with {self.nginx.returncode} (see {self.dir}/nginx/error.log)"
            try:
                status, doc = post(self.port, first_body, timeout=10.0)
                if status == 200 and answer_problem(doc, first_label) is None:
                    self.cold_start_s = time.monotonic() - t0
                    self.errlog_offset = self._errlog_size()   # start-up 502s are expected
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                return f"{self.name}: no correct answer within {timeout:.0f}s (see {self.dir})"
            time.sleep(0.01)
        return check_answers(self.port, known)

    def _errlog_size(self):
        try:
            return os.path.getsize(os.path.join(self.dir, "nginx", "error.log"))
        except OSError:
            return 0

    def nginx_errors(self):
        """{message pattern: count} of NGINX [error]/[crit]/[alert] lines since the stack first
        answered (e.g. why a 502 happened: upstream connect() EAGAIN = full listen queue)."""
        import re
        kinds = {}
        try:
            with open(os.path.join(self.dir, "nginx", "error.log"), errors="replace") as f:
                f.seek(self.errlog_offset)
                for line in f:
                    m = re.search(r"\[(error|crit|alert)\] [0-9#]+: \*?[0-9]* ?(.*?)(, client:|$)",
                                  line)
                    if m:
                        key = re.sub(r"/tmp/\S+", "<path>", m.group(2))[:160]
                        kinds[key] = kinds.get(key, 0) + 1
        except OSError:
            pass
        return kinds

    def stop(self):
        stop(self.nginx, grace=3.0)     # first, so no kept-alive connection holds a worker
        stop(self.app, grace=8.0)
        self.app = self.nginx = None

    # -- accounting ----------------------------------------------------------------------------

    def pids(self):
        """{"app": [...], "nginx": [...]} live processes of the stack."""
        return {"app": tree(self.app.pid) if self.app else [],
                "nginx": tree(self.nginx.pid) if self.nginx else []}

    def cpu(self):
        p = self.pids()
        return {"app": cpu_seconds(p["app"]), "nginx": cpu_seconds(p["nginx"])}

    def pss(self):
        p = self.pids()
        return {"app_kib": pss_kib(p["app"]), "nginx_kib": pss_kib(p["nginx"]),
                "app_processes": len(p["app"]), "nginx_processes": len(p["nginx"])}


def tool_versions():
    def run(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    code = ("import flask, falcon, gevent, cv2, torch;"
            "print('flask', flask.__version__, 'falcon', falcon.__version__, 'gevent',"
            " gevent.__version__, 'opencv', cv2.__version__, 'torch', torch.__version__)")
    return {"nginx": run(["nginx", "-v"]),
            "gunicorn": run(["dpkg-query", "-W", "-f", "gunicorn ${Version}", "gunicorn"]),
            "locust": run(["dpkg-query", "-W", "-f", "locust ${Version}", "python3-locust"]),
            "wrk": run(["wrk", "-v"]), "python": run([PYTHON, "-c", code]),
            "which_wrk": shutil.which("wrk")}
