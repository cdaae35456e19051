"""Load generators: wrk (closed loop, fixed concurrency) and Locust (the seed's scenario).

Owns: running one bounded load against a URL and returning its figures as a dict; parsing
wrk's summary (printed by post_digits.lua) and Locust's CSV. Does not own stacks or the
schedule. Every run has a hard timeout on top of its own duration.
"""

import csv
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def wrk(port, bodies_file, connections, seconds, threads=1, timeout_s=10):
    """-> {"requests", "rps", "errors", "non_2xx", "latency_ms": {...}} or raises RuntimeError."""
    seconds = max(1, round(seconds))          # wrk takes whole seconds
    argv = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{seconds}s", "--timeout", f"{timeout_s}s",
            "-s", os.path.join(HERE, "post_digits.lua"), f"http://127.0.0.1:{port}",
            "--", bodies_file]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    line = next((l for l in r.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary (rc {r.returncode}): {r.stdout[-500:]}"
                           f"{r.stderr[-500:]}")
    s = json.loads(line[len("WRK_JSON "):])
    e = s["errors"]
    return {"tool": "wrk", "connections": connections, "requests": s["requests"],
            "duration_s": s["duration_s"],
            # Throughput counts answers that were 2xx (wrk's own figure includes 502s).
            "rps": (s["requests"] - e["status"]) / s["duration_s"],
            "rps_all": s["requests"] / s["duration_s"],
            "non_2xx": e["status"], "timeouts": e["timeout"],
            "socket_errors": e["connect"] + e["read"] + e["write"],
            "failures": e["status"] + e["timeout"] + e["connect"] + e["read"] + e["write"],
            "latency_ms": s["latency_ms"]}


def locust(port, bodies_file, users, spawn_rate, seconds, think, workdir):
    """Headless Locust, FastHttpUser, `users` users spawned at `spawn_rate`/s, think time
    uniform in `think` = (min_s, max_s); stats cover the whole run including the ramp (as the
    seed's table does). -> the seed's columns as a dict."""
    seconds = max(1, round(seconds))          # Locust takes whole seconds
    prefix = os.path.join(workdir, "locust")
    env = dict(os.environ, BENCH_BODIES=bodies_file, BENCH_THINK=f"{think[0]},{think[1]}")
    argv = [PYTHON, "-m", "locust", "-f", os.path.join(HERE, "locustfile.py"), "--headless",
            "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{seconds}s",
            "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary",
            "--stop-timeout", "5", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, env=env)
    stats = prefix + "_stats.csv"
    if not os.path.exists(stats):
        raise RuntimeError(f"locust wrote no stats (rc {r.returncode}): {r.stderr[-800:]}")
    with open(stats) as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows.get("Aggregated") or next(iter(rows.values()))
    kinds = {}
    if os.path.exists(prefix + "_failures.csv"):
        with open(prefix + "_failures.csv") as f:
            for frow in csv.DictReader(f):
                kinds[frow["Error"]] = kinds.get(frow["Error"], 0) + int(frow["Occurrences"])
    num = lambda k: float(row[k]) if row.get(k) not in (None, "", "N/A") else None
    return {"tool": "locust", "users": users, "spawn_rate": spawn_rate, "run_s": seconds,
            "think_s": list(think), "failure_kinds": kinds,
            "requests": int(num("Request Count")),
            "failures": int(num("Failure Count")), "rps": num("Requests/s"),
            "latency_ms": {"min": num("Min Response Time"), "mean": num("Average Response Time"),
                           "p50": num("Median Response Time"), "p95": num("95%"),
                           "p99": num("99%"), "max": num("Max Response Time")}}
