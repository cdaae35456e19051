"""Turning raw measurements into the report: medians over rounds, ratios, Markdown, JSON, PNG.

Owns: the summary of one workload's rounds (median per stack and load level), the goal
ratios of the project (digits: issue 1; photos: issue 13) with met/missed, the Markdown
tables (the seed's Locust table, wrk saturation table, resources, ceilings), and the chart.
Does not measure anything.
"""

import json
import statistics

GOALS = {  # workload kind -> {ratio: (comparison, goal)}; ratios at 64 connections (the top
    # level of the workload when it stops below 64, as photo-batch does at 16)
    "digits": {
        "throughput_vs_best_peer": (">=", 2.0),
        "p99_vs_best_peer": ("<=", 0.1),
        "throughput_vs_batch1_ceiling": (">=", 1.0),
        "pss_vs_best_peer": ("<=", 0.25),
    },
    "photo": {
        "throughput_vs_best_peer": (">=", 3.0),
        "throughput_vs_combined_ceiling": (">=", 0.85),
        "p99_vs_best_peer": ("<=", 0.3),
        "pss_vs_best_peer": ("<=", 0.3),
        "c1_p50_over_cost_ms": ("<=", 0.5),
    },
}
RATIO_NAMES = {
    "throughput_vs_best_peer": "throughput ÷ best peer's",
    "throughput_vs_combined_ceiling": "images/s ÷ combined ceiling (cores ÷ (decode + "
                                      "preprocess + inference))",
    "throughput_vs_batch1_ceiling": "throughput ÷ batch-1 ceiling",
    "p99_vs_best_peer": "p99 ÷ best peer's p99",
    "pss_vs_best_peer": "PSS of the whole stack (NGINX included) ÷ best peer's",
    "c1_p50_over_cost_ms": "1-connection p50 − (decode + preprocess + inference) per request, ms",
}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _merge(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def summarise(model_result, stacks, levels):
    """Per stack: medians over the rounds of every figure. -> {stack: summary}"""
    out = {}
    for name in stacks:
        turns = [t for t in model_result["rounds"] if t["stack"] == name]
        ok = [t for t in turns if not t.get("error")]
        s = {"config": turns[0]["config"] if turns else None, "rounds": len(turns),
             "rounds_ok": len(ok), "errors": [t["error"] for t in turns if t.get("error")],
             "after_load_errors": [t["after_load_error"] for t in ok if t.get("after_load_error")],
             "load_errors": [e for t in ok for e in t.get("load_errors", [])],
             "nginx_errors": _merge([t.get("nginx_errors") or {} for t in turns]),
             "locust_failure_kinds": _merge([(t.get("locust") or {}).get("failure_kinds") or {}
                                             for t in ok]),
             "cold_start_s": med([t.get("cold_start_s") for t in ok]), "wrk": {}}
        for c in levels:
            runs = [t["wrk"][str(c)] for t in ok if str(c) in t["wrk"]]
            if not runs:
                continue
            s["wrk"][str(c)] = {
                "rps": med([r["rps"] for r in runs]),
                "rps_min": min(r["rps"] for r in runs), "rps_max": max(r["rps"] for r in runs),
                "latency_ms": {k: med([r["latency_ms"][k] for r in runs])
                               for k in ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")},
                "requests": sum(r["requests"] for r in runs),
                "failures": sum(r["failures"] for r in runs),
                "non_2xx": sum(r["non_2xx"] for r in runs),
                "timeouts": sum(r["timeouts"] for r in runs),
                "socket_errors": sum(r["socket_errors"] for r in runs),
                "cpu_s_per_1k": med([r.get("cpu_s_per_1k") for r in runs]),
                "cpu_util": med([r.get("cpu_util") for r in runs]),
                "machine_busy": med([r.get("machine_busy") for r in runs]),
                "loadgen_util": med([r.get("loadgen_util") for r in runs]),
            }
        locs = [t["locust"] for t in ok if t.get("locust")]
        if locs:
            s["locust"] = {
                "requests": med([r["requests"] for r in locs]),
                "failures": med([r["failures"] for r in locs]),
                "failures_total": sum(r["failures"] for r in locs),
                "rps": med([r["rps"] for r in locs]),
                "latency_ms": {k: med([r["latency_ms"][k] for r in locs])
                               for k in ("min", "mean", "p50", "p95", "p99", "max")},
                "cpu_s_per_1k": med([r.get("cpu_s_per_1k") for r in locs]),
            }
        pss = [t["pss"] for t in ok if t.get("pss")]
        if pss:
            s["pss_mib"] = {"total": med([(p["app_kib"] + p["nginx_kib"]) / 1024 for p in pss]),
                            "app": med([p["app_kib"] / 1024 for p in pss]),
                            "nginx": med([p["nginx_kib"] / 1024 for p in pss]),
                            "processes": pss[-1]["app_processes"] + pss[-1]["nginx_processes"]}
        out[name] = s
    return out


def main_ceiling(ceiling):
    """The ceiling the ratios use: the higher of cv2.dnn from C++ (predictd's view) and from
    Python, at batch 1 with one process per core (the harder one to reach).
    -> {"<procs>": {...}} or None"""
    found = [c for c in ((ceiling or {}).get(k) for k in ("opencv-cpp", "opencv")) if c]
    if not found:
        return None
    return max(found, key=lambda c: c[max(c, key=int)]["batch1_ips"])


def top_level(mres):
    """The level the ratios use: 64 connections, or the workload's highest below that."""
    levels = [int(c) for c in mres.get("levels") or [64]]
    return "64" if 64 in levels else str(max(levels))


def ratios(mres):
    """The goal ratios of one workload, from this run's medians, at top_level()."""
    summary, ceiling = mres["summary"], mres.get("ceiling")
    level, kind = top_level(mres), mres.get("workload", "digits")
    per_request = mres.get("images_per_request", 1)
    pd = summary.get("predictd")
    peers = {n: s for n, s in summary.items() if n != "predictd" and level in s.get("wrk", {})}
    if not pd or level not in pd.get("wrk", {}) or not peers:
        return {}
    best = max(peers, key=lambda n: peers[n]["wrk"][level]["rps"])
    pw, bw = pd["wrk"][level], peers[best]["wrk"][level]
    if not bw["rps"] or not bw["latency_ms"]["p99"]:      # no answer counted: no ratio
        return {"best_peer": best, "level": level, "kind": kind}
    r = {"best_peer": best, "level": level, "kind": kind,
         "images_per_s": pw["rps"] * per_request,
         "best_peer_images_per_s": bw["rps"] * per_request,
         "throughput_vs_best_peer": pw["rps"] / bw["rps"],
         "p99_vs_best_peer": pw["latency_ms"]["p99"] / bw["latency_ms"]["p99"]}
    if kind == "digits":
        cv = main_ceiling(ceiling)
        if cv:
            top = cv[max(cv, key=int)]
            r["ceiling_batch1_ips"] = top["batch1_ips"]
            r["throughput_vs_batch1_ceiling"] = pw["rps"] / top["batch1_ips"]
            r["throughput_vs_best_batch_ceiling"] = pw["rps"] / top["best_ips"]
    comb = mres.get("combined")
    if comb:
        r["combined_ceiling_ips"] = comb["ips"]
        r["throughput_vs_combined_ceiling"] = pw["rps"] * per_request / comb["ips"]
        c1 = pd["wrk"].get("1")
        if c1:
            r["c1_p50_ms"] = c1["latency_ms"]["p50"]
            r["cost_per_request_ms"] = comb["per_request_ms"]
            r["c1_p50_over_cost_ms"] = c1["latency_ms"]["p50"] - comb["per_request_ms"]
    if pd.get("pss_mib") and peers[best].get("pss_mib"):
        r["pss_vs_best_peer"] = pd["pss_mib"]["total"] / peers[best]["pss_mib"]["total"]
        r["pss_app_only_vs_best_peer"] = pd["pss_mib"]["app"] / peers[best]["pss_mib"]["app"]
        lightest = min((s for s in peers.values() if s.get("pss_mib")),
                       key=lambda s: s["pss_mib"]["total"])
        r["pss_vs_lightest_peer"] = pd["pss_mib"]["total"] / lightest["pss_mib"]["total"]
    return r


def verdict(kind, key, value):
    op, goal = GOALS[kind][key]
    met = value >= goal if op == ">=" else value <= goal
    return f"{'met' if met else 'MISSED'} (goal {op} {goal:g})"


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------

def _f(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, float) and nd == 0:
        return f"{v:.0f}"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def stack_label(name, s):
    cfg = s.get("config")
    return f"{name} ({cfg[0]} ×{cfg[1]})" if cfg else name


def model_markdown(model_name, mres, summary, levels, rat):
    per_request = mres.get("images_per_request", 1)
    photo = mres.get("workload") == "photo"
    L = [f"### {'Workload' if photo else 'Model'} `{model_name}` ({mres['model_file']}, "
         f"{mres.get('macs') or '?'} MACs/image"
         + (f", {per_request} images per request" if per_request > 1 else "") + ")", ""]
    if mres.get("bodies_description"):
        L += [f"Bodies: {mres['bodies_description']} (bench/photo_bodies.py); "
              + ("each request posts {\"images\": [16 photos]}." if per_request > 1 else
                 "each request posts {\"image\": one photo}, as the seed does."), ""]
    loc = [n for n, s in summary.items() if s.get("locust")]
    if loc:
        meta = mres["locust_params"]
        L += [f"Locust (the seed's table): {meta['users']} users spawned {meta['spawn_rate']}/s, "
              f"think time {meta['think'][0]}–{meta['think'][1]} s, {meta['seconds']} s per run "
              "(ramp included), median of rounds; times in ms.", "",
              _row(["Stack", "# reqs", "# fails", "Min", "Avg", "Median", "p95", "p99", "Max",
                    "req/s"]),
              _row(["---"] + ["---:"] * 9)]
        for n in loc:
            s = summary[n]["locust"]
            lat = s["latency_ms"]
            L.append(_row([stack_label(n, summary[n]), _f(s["requests"], 0), _f(s["failures"], 0),
                           _f(lat["min"], 0), _f(lat["mean"], 0), _f(lat["p50"], 0),
                           _f(lat["p95"], 0), _f(lat["p99"], 0), _f(lat["max"], 0),
                           _f(s["rps"], 1)]))
        L.append("")
    img_col = ["images/s"] if photo else []
    L += ["wrk (closed loop, 1 thread"
          + (f", {mres['duration']:g} s per level" if mres.get("duration") else "")
          + "), median of rounds; latency in ms (per request); failures "
          "= non-2xx + timeouts + socket errors summed over rounds.", "",
          _row(["Stack", "conns", "req/s"] + img_col + ["(min–max)", "p50", "p90", "p99",
                                                        "p99.9", "max", "failures",
                                                        "CPU s/1k req", "CPU busy"]),
          _row(["---"] + ["---:"] * (11 + len(img_col)))]
    for n, s in summary.items():
        for c in levels:
            w = s["wrk"].get(str(c))
            if not w:
                L.append(_row([stack_label(n, s), str(c)] + ["–"] * (10 + len(img_col))))
                continue
            lat = w["latency_ms"]
            fails = str(w["failures"]) if not w["failures"] else (
                f"{w['failures']} ({w['non_2xx']} non-2xx, {w['timeouts']} t/o, "
                f"{w['socket_errors']} sock)")
            nd = 1 if photo else 0
            L.append(_row([stack_label(n, s), str(c), _f(w["rps"], nd)]
                          + ([_f(w["rps"] * per_request, 1)] if photo else [])
                          + [f"{w['rps_min']:.{nd}f}–{w['rps_max']:.{nd}f}", _f(lat["p50"], 2),
                           _f(lat["p90"], 2), _f(lat["p99"], 2), _f(lat["p999"], 2),
                           _f(lat["max"], 1), fails, _f(w["cpu_s_per_1k"], 3),
                           f"{w['cpu_util']:.0%}" if w.get("cpu_util") is not None else "–"]))
    level = top_level(mres)
    busy = [(n, s["wrk"][level]) for n, s in summary.items() if level in s["wrk"]]
    if busy and busy[0][1].get("machine_busy") is not None:
        L += ["", f"CPU of the 2 cores during wrk at {level} connections (stack / wrk / whole "
              "machine): "
              + "; ".join(f"{n} {w['cpu_util']:.0%} / {w['loadgen_util']:.0%} / "
                          f"{w['machine_busy']:.0%}" for n, w in busy) + "."]
    L.append("")
    if photo:
        comb = mres.get("combined")
        ceiling_ips = comb["ips"] if comb else None
        share_text = ("share of ceiling = images/s ÷ the combined ceiling (cores ÷ (decode + "
                      "preprocess + inference) per image, below)")
    else:
        cv = main_ceiling(mres.get("ceiling"))
        ceiling_ips = cv[max(cv, key=int)]["batch1_ips"] if cv else None
        share_text = ("share of ceiling = req/s ÷ bare cv2.dnn batch-1 throughput with one "
                      "process per core (the higher of the C++ and Python figures)")
    L += ["Resources: PSS summed over the stack's processes after the load (NGINX included; "
          "app alone in brackets); cold start = server process started → first correct "
          f"answer through NGINX; CPU s per 1 000 requests at {level} connections (NGINX + "
          f"app); {share_text}.", "",
          _row(["Stack", "PSS MiB", "(app)", "processes", "cold start s", f"CPU s/1k @c{level}",
                ("images/s" if photo else "req/s") + f" @c{level}", "share of ceiling"]),
          _row(["---"] + ["---:"] * 7)]
    for n, s in summary.items():
        w = s["wrk"].get(level) or {}
        p = s.get("pss_mib") or {}
        ips = w["rps"] * per_request if w else None
        share = (ips / ceiling_ips) if (w and ceiling_ips) else None
        L.append(_row([stack_label(n, s), _f(p.get("total")), _f(p.get("app")),
                       _f(p.get("processes")), _f(s.get("cold_start_s"), 2),
                       _f(w.get("cpu_s_per_1k"), 3), _f(ips, 1 if photo else 0),
                       f"{share:.2f}" if share is not None else "–"]))
    L.append("")
    errs = [(n, s) for n, s in summary.items()
            if s.get("nginx_errors") or s.get("locust_failure_kinds") or s.get("errors")]
    if errs:
        L += ["Errors seen (all rounds; NGINX error log lines by kind, Locust failures by kind):",
              ""]
        for n, s in errs:
            parts = [f"{v}× {k}" for k, v in sorted(s.get("nginx_errors", {}).items(),
                                                     key=lambda kv: -kv[1])[:4]]
            parts += [f"Locust {v}× {k}" for k, v in s.get("locust_failure_kinds", {}).items()]
            parts += [f"round failed: {e[:200]}" for e in s.get("errors", [])]
            L.append(f"- {n}: " + "; ".join(parts))
        L.append("")
    if mres.get("ceiling"):
        L += ["Ceiling (bare in-process inference, no decoding, one intra-op thread per process, "
              "images/s; " + ("onnxruntime-cpp = bench/model_ceiling.cpp, predictd's ImageModel "
                              "with the model's engine (ONNX Runtime); opencv = cv2.dnn from "
                              "Python as the Flask and Falcon peers run it; torch = PyTorch "
                              "eager as the flask-torch peer runs it; inputs: photos "
                              "preprocessed" if photo else
                              "opencv-cpp = bench/ceiling.cpp, opencv = the same from Python, "
                              "torch = PyTorch eager as the flask-torch peer runs it") + "):",
              "", _row(["Backend", "processes", "batch 1", "best batch", "best"]),
              _row(["---", "---:", "---:", "---:", "---:"])]
        for backend, per in mres["ceiling"].items():
            for n, c in sorted(per.items(), key=lambda kv: int(kv[0])):
                L.append(_row([backend, n, _f(c["batch1_ips"], 0), str(c["best_batch"]),
                               _f(c["best_ips"], 0)]))
        L.append("")
    if mres.get("decode"):
        d = mres["decode"]
        L += ["Decode + preprocess per image (bench/decode_cost.cpp: predictd's request path "
              "— header, plan with shrink-on-load, decode, EXIF, resize, values — one thread, "
              "medians per image, mean per kind; weighted by the kinds' shares of the bodies):",
              "", _row(["Kind", "share", "images timed", "decode ms", "preprocess ms",
                        "total ms"]),
              _row(["---", "---:", "---:", "---:", "---:", "---:"])]
        for v, x in sorted(d["variants"].items()):
            L.append(_row([v, f"{d['shares'].get(v, 0):.0%}", str(x["images"]),
                           _f(x["decode_ms"], 2), _f(x["prep_ms"], 2), _f(x["total_ms"], 2)]))
        L.append("")
    if mres.get("combined"):
        c = mres["combined"]
        L += [f"Combined ceiling: {c['cores']} cores ÷ ({c['decode_prep_ms']:.2f} ms decode + "
              f"preprocess + {c['infer_ms']:.2f} ms inference at batch {c['batch']}, one "
              f"process) = **{c['ips']:.1f} images/s**; one request of {per_request} "
              f"image{'s' if per_request > 1 else ''} costs {c['per_request_ms']:.2f} ms of "
              "work.", ""]
    if mres.get("layers"):
        lp = mres["layers"]
        L += [f"cv2.dnn time per image at batch 1, one thread: {lp['total_us']:.0f} µs — "
              + ", ".join(f"{n} {us:.0f} µs ({sh:.0%})" for n, us, sh in lp["layers"][:5])
              + ".", ""]
    if mres.get("sweep"):
        L += [f"Configurations tried per stack (wrk, {level} connections, one pass each after "
              "a 1 s warm-up; the best req/s without failures is the one measured above; "
              "gthread workers run 4 threads):", "",
              _row(["Stack", "worker class", "workers", "req/s", "p99 ms", "failures"]),
              _row(["---", "---", "---:", "---:", "---:", "---:"])]
        for sw in mres["sweep"]:
            w = sw.get("wrk") or {}
            L.append(_row([sw["stack"], sw["config"][0], str(sw["config"][1]),
                           _f(w.get("rps"), 1 if photo else 0) if w
                           else sw.get("error", "–")[:60],
                           _f((w.get("latency_ms") or {}).get("p99"), 1),
                           _f(w.get("failures"))]))
        L.append("")
    if mres.get("sweep_from"):
        L += [f"Configurations: as chosen by the `{mres['sweep_from']}` sweep (same model and "
              "request path).", ""]
    if rat:
        kind = rat.get("kind", "digits")
        L += [f"Ratios (predictd vs the best peer at {rat.get('level', '64')} connections, "
              f"`{rat['best_peer']}`; goals of the project"
              + (", issue 13" if kind == "photo" else "") + "):", ""]
        for k in GOALS[kind]:
            if k in rat:
                L.append(f"- {RATIO_NAMES[k]}: **{rat[k]:.3f}** — {verdict(kind, k, rat[k])}")
            else:
                L.append(f"- {RATIO_NAMES[k]}: not measured")
        extra = []
        if "pss_app_only_vs_best_peer" in rat:
            extra.append(f"PSS without NGINX: {rat['pss_app_only_vs_best_peer']:.3f}; "
                         f"vs the lightest peer: {rat['pss_vs_lightest_peer']:.3f}")
        if "throughput_vs_best_batch_ceiling" in rat:
            extra.append("throughput ÷ best-batch ceiling: "
                         f"{rat['throughput_vs_best_batch_ceiling']:.3f}")
        if "c1_p50_ms" in rat:
            extra.append(f"1-connection p50 {rat['c1_p50_ms']:.2f} ms vs "
                         f"{rat['cost_per_request_ms']:.2f} ms of decode + preprocess + "
                         "inference")
        if "images_per_s" in rat and kind == "photo":
            extra.append(f"predictd {rat['images_per_s']:.1f} images/s, {rat['best_peer']} "
                         f"{rat['best_peer_images_per_s']:.1f}")
        if extra:
            L.append("- (" + "; ".join(extra) + ")")
        L.append("")
    return "\n".join(L)


def markdown(results):
    m = results["meta"]
    L = [f"## Benchmark run {m['timestamp']}", "",
         f"- Command: `{m['command']}`",
         f"- Machine: {m['machine']}",
         f"- Load average before / after: {m['loadavg_before']} / {m.get('loadavg_after', '?')}",
         f"- Versions: {m['versions'].get('nginx')}; {m['versions'].get('gunicorn')}; "
         f"{m['versions'].get('python')}; {m['versions'].get('locust')}; "
         f"{m['versions'].get('wrk')}; predictd {m.get('predictd_rev', '?')}",
         f"- NGINX: {m['nginx_workers']} worker processes, same template for every stack; "
         "peers via proxy_pass to gunicorn's unix socket with upstream keepalive 32, predictd "
         "via fastcgi_pass to its unix socket (no keep-alive). Load generators run on the "
         "same 2 cores as the servers.",
         f"- Rounds: {m['rounds']} (stacks measured in turn A B C D, repeated); wrk "
         f"{m['duration']} s per level after a warm-up; {m['elapsed_min']:.1f} min in all.",
         ""]
    for name, why in (m.get("skipped") or {}).items():
        L += [f"- **Workload `{name}` skipped**: {why}.", ""]
    for model_name, mres in results["models"].items():
        L.append(model_markdown(model_name, mres, mres["summary"],
                                mres.get("levels") or m["levels"], mres["ratios"]))
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------------------------

def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = list(results["models"])
    fig, axes = plt.subplots(len(models), 2, figsize=(13, 4.2 * len(models)), squeeze=False)
    colors = {"predictd": "#1b9e77", "flask": "#d95f02", "falcon": "#7570b3",
              "flask-torch": "#e7298a"}
    for row, model_name in enumerate(models):
        mres = results["models"][model_name]
        summary = mres["summary"]
        levels = mres.get("levels") or results["meta"]["levels"]
        per_request = mres.get("images_per_request", 1)
        photo = mres.get("workload") == "photo"
        names = [n for n in summary if summary[n]["wrk"]]
        ax = axes[row][0]
        width = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            xs = [j + i * width for j in range(len(levels))]
            ys = [(summary[n]["wrk"].get(str(c)) or {}).get("rps", 0) * per_request
                  for c in levels]
            ax.bar(xs, ys, width, label=n, color=colors.get(n))
        cv = None if photo else main_ceiling(mres.get("ceiling"))
        if photo and mres.get("combined"):
            ax.axhline(mres["combined"]["ips"], color="k", ls="--", lw=1,
                       label=f"combined ceiling ({mres['combined']['ips']:.0f}/s)")
        if cv:
            top = cv[max(cv, key=int)]
            ax.axhline(top["batch1_ips"], color="k", ls="--", lw=1,
                       label=f"ceiling, batch 1 ({top['batch1_ips']:.0f}/s)")
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(levels))])
        ax.set_xticklabels([f"c{c}" for c in levels])
        ax.set_ylabel(("images/s" if photo else "requests/s") + " (wrk, median)")
        ax.set_title(f"{model_name}: throughput by concurrency")
        ax.legend(fontsize=8)
        ax = axes[row][1]
        pcts = ["p50", "p90", "p99", "p999"]
        level = top_level(mres)
        for i, n in enumerate(names):
            w = summary[n]["wrk"].get(level)
            if not w:
                continue
            xs = [j + i * width for j in range(len(pcts))]
            ax.bar(xs, [w["latency_ms"][p] for p in pcts], width, label=n, color=colors.get(n))
        ax.set_yscale("log")
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(pcts))])
        ax.set_xticklabels(["p50", "p90", "p99", "p99.9"])
        ax.set_ylabel("latency ms (log)")
        ax.set_title(f"{model_name}: latency percentiles at {level} connections")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
