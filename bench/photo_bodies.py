"""Request bodies of the photo workload: real photographs re-encoded as users upload them.

Owns: turning the photographs fetched from Debian packages (model/nsfw-mobilenetv2/.cache/
photos, by `model/nsfw-mobilenetv2/verify.py --fetch-photos --limit 0`; plus the model's
samples/) into image files and JSON bodies, deterministically (seeded) and cached in a temp
directory keyed by the inputs; the reference answers of a few of them (cv2.dnn on the peers'
preprocessing) that every stack must reproduce before it is measured. Does not own HTTP.

Each source photo becomes one image, centre-cropped to 4:3 and resized (INTER_AREA down,
INTER_CUBIC up), in one of four encodings:
  phone    4032x3024 JPEG q90 carrying EXIF orientation 6 (a portrait 3024x4032 photo stored
           sideways, as phones write them; stacks must rotate it) — the largest 10 % of sources
  web1600  1600x1200 JPEG q90 — the next 35 % by size
  png      1024x768 PNG — 10 %, picked by the seed among the rest
  web1024  1024x768 JPEG q85 — the others
Bodies as the seed posts them: {"image": base64}, one image per request, in a seeded order
(single.jsonl); and batches of 16 web JPEGs (web1024 and web1600, in that order, cycling)
as predictd's batch form {"images": [...]} (batch16.jsonl), each under predictd's and the
template's 8 MiB body limit. One body per line, for wrk (post_digits.lua).

  /usr/bin/python3 bench/photo_bodies.py [--limit N] [--seed S]   # build (or find) and describe
"""

import argparse
import base64
import glob
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODEL_DIR = os.path.join(REPO, "model", "nsfw-mobilenetv2")
SEED = 20261202
BATCH = 16
MAX_BODY = 8 * 1024 * 1024 - 64 * 1024         # predictd's max_body_bytes, with a margin
MAX_BASE64 = 4 * 1024 * 1024                    # predictd's max_base64_bytes
VERSION = 1                                     # bump when the generation below changes
MIN_SOURCES = 8                                 # below: only the model's samples are there
VARIANTS = {  # name -> (stored width, height, format, quality, EXIF orientation)
    "phone": (4032, 3024, "jpeg", 90, 6),
    "web1600": (1600, 1200, "jpeg", 90, None),
    "png": (1024, 768, "png", None, None),
    "web1024": (1024, 768, "jpeg", 85, None),
}

sys.path.insert(0, os.path.join(HERE, "peers"))


def sources(model_dir=MODEL_DIR):
    """Every photograph: .cache/photos (Debian) and samples/, sorted by path."""
    found = []
    for pattern in ("*.jpg", "*.jpeg", "*.png"):
        found += glob.glob(os.path.join(model_dir, ".cache", "photos", "**", pattern),
                           recursive=True)
        found += glob.glob(os.path.join(model_dir, "samples", pattern))
    return sorted(set(found))


def missing_photos(model_dir, found):
    return (f"only {found} photos under {model_dir}/.cache/photos and samples/: run "
            "model/nsfw-mobilenetv2/verify.py --fetch-photos --limit 0 (201 photographs from "
            "Debian packages)")


def _crop(img, aspect):
    """Centre crop of img (H, W, C) to width/height = aspect."""
    h, w = img.shape[:2]
    if w / h > aspect:
        cw = round(h * aspect)
        x = (w - cw) // 2
        return img[:, x:x + cw]
    ch = round(w / aspect)
    y = (h - ch) // 2
    return img[y:y + ch]


def _fit(img, width, height):
    img = _crop(img, width / height)
    shrink = img.shape[1] >= width
    return cv2.resize(img, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def encode(img_bgr, variant):
    """A BGR photo -> the variant's file bytes."""
    w, h, fmt, quality, orientation = VARIANTS[variant]
    if orientation == 6:
        # The displayed photo is portrait h x w; the file stores it turned 90° counter-clockwise
        # and orientation 6 tells the reader to turn it back clockwise.
        from PIL import Image
        shown = _fit(img_bgr, h, w)
        stored = cv2.rotate(shown, cv2.ROTATE_90_COUNTERCLOCKWISE)
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(
            buf, "JPEG", quality=quality, exif=exif)
        return buf.getvalue()
    img = _fit(img_bgr, w, h)
    if fmt == "png":
        ok, data = cv2.imencode(".png", img)
    else:
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def assign_variants(paths, seed):
    """[(path, variant)]: the largest sources become phone photos, the next web1600; among the
    rest the seed picks the PNGs. Every variant gets at least one image (with fewer sources
    than variants, sources are reused: only the model's samples are there)."""
    sized = []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_UNCHANGED)
        if img is not None:
            sized.append((-img.shape[0] * img.shape[1], os.path.basename(p), p))
    sized.sort()
    n = len(sized)
    if n < len(VARIANTS):
        return [(sized[i % n][2], v) for i, v in enumerate(VARIANTS)]
    n_phone, n_1600, n_png = max(1, round(0.10 * n)), max(1, round(0.35 * n)), \
        max(1, round(0.10 * n))
    order = [p for _, _, p in sized]
    out = [(p, "phone") for p in order[:n_phone]]
    out += [(p, "web1600") for p in order[n_phone:n_phone + n_1600]]
    rest = order[n_phone + n_1600:]
    random.Random(seed).shuffle(rest)
    out += [(p, "png") for p in rest[:n_png]]
    out += [(p, "web1024") for p in rest[n_png:]]
    return out


class PhotoBodies:
    """The photo workload's images and bodies, built once per (sources, limit, seed) and cached.

    images: [{"file", "variant", "source", "bytes"}] in body order; single_file / batch_file:
    one JSON body per line; known: [(body, label)] the reference model gets right with
    confidence >= 0.95, one per variant; known_batch: (body, [labels]) of those images."""

    def __init__(self, model_path, limit=None, seed=SEED, cache_root=None, log=None):
        self.model_path = model_path
        self.model_dir = os.path.dirname(os.path.dirname(os.path.abspath(model_path)))
        paths = sources(self.model_dir)
        if not paths or (len(paths) < MIN_SOURCES and not limit):
            raise RuntimeError(missing_photos(self.model_dir, len(paths)))
        if len(paths) < MIN_SOURCES and log:
            log(f"photo bodies: {missing_photos(self.model_dir, len(paths))}; using those")
        if limit:
            paths = sorted(random.Random(seed).sample(paths, min(limit, len(paths))))
        key = hashlib.sha256(json.dumps(
            [VERSION, seed, VARIANTS, BATCH, [(os.path.relpath(p, self.model_dir),
                                               os.path.getsize(p)) for p in paths]]
        ).encode()).hexdigest()[:16]
        root = cache_root or tempfile.gettempdir()
        self.dir = os.path.join(root, f"predictd-bench-photos-{key}")
        if not os.path.exists(os.path.join(self.dir, "meta.json")):
            if log:
                log(f"photo bodies: building {len(paths)} images in {self.dir}")
            self._build(paths, seed)
        with open(os.path.join(self.dir, "meta.json")) as f:
            self.meta = json.load(f)
        self.images = self.meta["images"]
        self.single_file = os.path.join(self.dir, "single.jsonl")
        self.batch_file = os.path.join(self.dir, "batch16.jsonl")
        with open(self.single_file) as f:
            lines = f.read().splitlines()
        self.known = [(lines[i], label) for i, label in self.meta["known"]]
        self.known_batch = (json.dumps({"images": [json.loads(b)["image"] for b, _ in
                                                   self.known]}),
                            [label for _, label in self.known])

    def _build(self, paths, seed):
        tmp = tempfile.mkdtemp(prefix=os.path.basename(self.dir) + ".part-",
                               dir=os.path.dirname(self.dir))
        try:
            order = sorted(assign_variants(paths, seed))
            random.Random(seed + 1).shuffle(order)
            os.makedirs(os.path.join(tmp, "img"))
            images, texts = [], []
            for p, v in order:
                data = encode(cv2.imread(p, cv2.IMREAD_COLOR), v)
                text = base64.b64encode(data).decode("ascii")
                if len(text) > MAX_BASE64:             # not seen on the Debian photos
                    continue
                ext = "png" if VARIANTS[v][2] == "png" else "jpg"
                name = f"{len(images):04d}-{v}.{ext}"
                with open(os.path.join(tmp, "img", name), "wb") as f:
                    f.write(data)
                images.append({"file": f"img/{name}", "variant": v, "bytes": len(data),
                               "source": os.path.relpath(p, self.model_dir)})
                texts.append(text)
            with open(os.path.join(tmp, "single.jsonl"), "w") as f:
                for t in texts:
                    f.write(json.dumps({"image": t}) + "\n")
            web = [i for i, im in enumerate(images) if im["variant"].startswith("web")]
            batches, skipped = [], 0
            with open(os.path.join(tmp, "batch16.jsonl"), "w") as f:
                for start in range(0, max(len(web), BATCH), BATCH):
                    idx = [web[(start + k) % len(web)] for k in range(BATCH)]
                    body = json.dumps({"images": [texts[i] for i in idx]})
                    if len(body) > MAX_BODY:
                        skipped += 1
                        continue
                    f.write(body + "\n")
                    batches.append(idx)
            meta = {"version": VERSION, "seed": seed, "images": images, "batches": batches,
                    "batches_skipped_over_8MiB": skipped,
                    "known": self._pick_known(images, texts, tmp)}
            with open(os.path.join(tmp, "meta.json"), "w") as f:
                json.dump(meta, f, indent=1)
            try:
                os.rename(tmp, self.dir)
            except OSError:                 # built meanwhile by another run: keep that one
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _pick_known(self, images, texts, tmp):
        """[(index, label)]: per variant, the first image the reference (cv2.dnn on the peers'
        Pillow preprocessing) classifies with confidence >= 0.95."""
        import photo_service
        import backends
        net = backends.CvModel(self.model_path, 1)
        labels = photo_service.read_labels(self.model_path)
        picked = {}
        for i, im in enumerate(images):
            if im["variant"] in picked:
                continue
            with open(os.path.join(tmp, im["file"]), "rb") as f:
                p = net.forward(photo_service.blob([f.read()]))[0]
            if p.max() >= 0.95:
                picked[im["variant"]] = (i, labels[int(np.argmax(p))])
            if len(picked) == len(VARIANTS):
                break
        if not picked:
            raise RuntimeError("no photo is classified with confidence >= 0.95")
        return sorted(picked.values())

    def shares(self, batch):
        """{variant: fraction of the images posted} for the single or the batch bodies."""
        if batch:
            idx = [i for b in self.meta["batches"] for i in b]
        else:
            idx = range(len(self.images))
        counts = {}
        for i in idx:
            v = self.images[i]["variant"]
            counts[v] = counts.get(v, 0) + 1
        total = sum(counts.values())
        return {v: c / total for v, c in counts.items()}

    def sample(self, per_variant):
        """{variant: [image paths]}: the first `per_variant` images of each variant."""
        out = {}
        for im in self.images:
            lst = out.setdefault(im["variant"], [])
            if len(lst) < per_variant:
                lst.append(os.path.join(self.dir, im["file"]))
        return out

    def describe(self):
        by = {}
        for im in self.images:
            n, b = by.get(im["variant"], (0, 0))
            by[im["variant"]] = (n + 1, b + im["bytes"])
        return (f"{len(self.images)} photos (" + ", ".join(
            f"{v} {n} × {b / n / 1024:.0f} KB" for v, (n, b) in sorted(by.items()))
            + f"), {len(self.meta['batches'])} batch(es) of {BATCH}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(MODEL_DIR, "1", "model.onnx"))
    ap.add_argument("--limit", type=int, default=None, help="sources used (default all)")
    ap.add_argument("--seed", type=int, default=SEED)
    a = ap.parse_args()
    pb = PhotoBodies(a.model, a.limit, a.seed, log=lambda m: print(m, file=sys.stderr))
    print(pb.dir)
    print(pb.describe())
    print("known:", [label for _, label in pb.known])


if __name__ == "__main__":
    main()
