#!/usr/bin/python3
"""bench/score_throughput.py — predictd-score's images/s against the server's own capacity, on
one stack (NGINX from the dev template + one Release predictd over the model repository), in
the same run, for the MNIST digits and the photo model; and the client's CPU seconds per image.

  bench/score_throughput.py --predictd BUILD/predictd --score BUILD/predictd-score
      [--mnist 100000] [--photos 10000] [--batch 32] [--concurrency 8] [--workers 2]
      [--duration 10] [--connections 64]

Capacity: wrk at --connections connections (bench/post_requests.lua) on the server's fastest
path, v2 binary tensor data, at 1, 4 and --batch images per request (photos: 1 and 4; the
best counts), after a 2 s warm-up. Client: predictd-score scoring a directory of --mnist PNG digits (the
1 000 held-out digits of tests/data, written again under other names) and of --photos JPEGs
(protocol_throughput.py's photos: Debian packages' photographs, long side 1024, q85, cycled),
timed by wall clock, its CPU (user + system) from wait4's rusage. The output is checked: one
row per image, no error.
"""
import argparse, json, os, subprocess, sys, tempfile, time

from protocol_throughput import Stack, digit_images, make_request, photo_images, wrk, \
    write_requests


def write_images(root, images, count, ext):
    """`count` files under root/NNN/, cycling through `images` (encoded bytes)."""
    for i in range(count):
        d = os.path.join(root, f"{i // 1000:03d}")
        if i % 1000 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"img{i:06d}.{ext}"), "wb") as f:
            f.write(images[i % len(images)])


def capacity(port, model, images, batch, connections, duration, tmp):
    """The server's images/s on v2 binary at `batch` images per request (wrk, closed loop)."""
    batches = [images[i:i + batch] for i in range(0, len(images) - batch + 1, batch)][:200]
    reqs = [make_request("v2-binary", model, b) for b in batches]
    path = os.path.join(tmp, f"{model}-{batch}.req")
    write_requests(path, reqs)
    wrk(port, connections, 2, path, reqs[0])  # warm-up
    j = wrk(port, connections, duration, path, reqs[0])
    return (j["requests"] - j["failures"]) * batch / j["duration_s"], j["failures"]


def score(binary, port, model, directory, out, batch, concurrency):
    """One predictd-score run: (images/s, CPU s, exit status, rows, error rows)."""
    argv = [binary, "--model", model, "--output", out, "--url", f"http://127.0.0.1:{port}",
            "--batch", str(batch), "--concurrency", str(concurrency), "--progress", "none",
            directory]
    start = time.monotonic()
    child = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    stderr = child.stderr.read()
    rows = [json.loads(line) for line in open(out)]
    errors = sum(1 for r in rows if "error" in r)
    sys.stderr.write(stderr)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "exit": os.waitstatus_to_exitcode(status), "rows": len(rows), "errors": errors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictd", required=True)
    ap.add_argument("--score", required=True)
    ap.add_argument("--mnist", type=int, default=100000)
    ap.add_argument("--photos", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--photo-batch", type=int, default=0, help="the photos' --batch (0: --batch)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="predictd-score-bench-")
    work = []
    if args.mnist:
        work.append(("mnist", digit_images(), args.mnist, "png"))
    if args.photos:
        work.append(("nsfw-mobilenetv2", photo_images(), args.photos, "jpg"))
    results = []
    with Stack(args.predictd, args.workers, []) as s:
        for model, images, count, ext in work:
            directory = os.path.join(tmp, model)
            write_images(directory, images, count, ext)
            # Photos: a batch of 32 at 64 connections queues past the 20 s request deadline.
            sizes = {1, 4, args.batch} if model == "mnist" else {1, 4}
            caps = {b: capacity(s.port, model, images, b, args.connections, args.duration, tmp)
                    for b in sorted(sizes)}
            best = max(c[0] for c in caps.values())
            batch = args.batch if model == "mnist" or not args.photo_batch else args.photo_batch
            r = score(args.score, s.port, model, directory, os.path.join(tmp, model + ".jsonl"),
                      batch, args.concurrency)
            r.update(model=model, images=count, batch=batch, capacity={str(b): c[0] for b, c in caps.items()},
                     capacity_failures={str(b): c[1] for b, c in caps.items()},
                     client_ips=count / r["wall_s"], share=count / r["wall_s"] / best,
                     cpu_ms_per_image=1000 * r["cpu_s"] / count)
            results.append(r)
            print(json.dumps(r), flush=True)
            if r["rows"] != count or r["errors"] or r["exit"] != 0:
                print(f"{model}: the run is not complete: {r}", file=sys.stderr)
    print(f"\nworkers {args.workers}; capacity: wrk, {args.connections} connections, v2 binary; "
          f"client: --concurrency {args.concurrency}\n")
    print("| model | images | capacity img/s (batch 1 / 4 / N) | predictd-score --batch | img/s | "
          "share of capacity | client CPU ms/image | rows / errors |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        caps = " / ".join(f"{v:.0f}" for v in r["capacity"].values())
        print(f"| {r['model']} | {r['images']} | {caps} | {r['batch']} | {r['client_ips']:.0f} | "
              f"{100 * r['share']:.0f} % | {r['cpu_ms_per_image']:.3f} | "
              f"{r['rows']} / {r['errors']} |")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
