#!/usr/bin/python3
"""make_images.py OUT_DIR [--seed N] — the image set of the correctness contract.

Writes, deterministically for a seed, >= 50 images per shipped model into OUT_DIR and
OUT_DIR/manifest.json: [{"model", "file", "format", "size": [w, h], "exif": n|null, "what"}].

- mnist: held-out digits (tests/data/heldout-1000.bin): 28x28 digits as stored (PNG 8/16-bit,
  RGB, alpha, BMP, TIFF, WebP, PGM, inverted) and pages (a digit drawn dark on paper of many
  sizes, tiny to 2000 px, grey/tinted paper, uneven light, noise; JPEG with EXIF tags, PNG,
  16-bit, alpha, WebP, BMP, TIFF; a blank and a faint page).
- nsfw-mobilenetv2: crops and rescales of real photographs (model/nsfw-mobilenetv2/samples and
  self_check.jpg from tools/fetch-models, plus .cache/photos when present): JPEG (quality 60..95,
  progressive, gray, EXIF orientation 1..8 in both byte orders), PNG (8/16-bit, gray, gray+alpha,
  RGBA, palette), WebP (lossy, lossless, alpha), BMP, TIFF (8/16-bit, alpha), PPM/PGM, sizes
  1x1 to 2000 px, odd and non-square, exactly 224x224.

Only the formats the server accepts by default ([limits] allowed_formats: png, jpeg, bmp, webp,
tiff, pnm); GIF has no decoder. Each image's base64 text stays under max_base64_bytes (4 MiB).
"""
import argparse
import glob
import io
import json
import os
import struct
import sys

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_BYTES = 3 * 1024 * 1024  # raw bytes; base64 is 4/3 of that, under the 4 MiB limit


# ---- encoders --------------------------------------------------------------------------------

def cv_encode(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok, ext
    return buf.tobytes()


def pil_encode(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def exif_app1(orientation, big_endian):
    """A minimal EXIF APP1 segment: 'Exif\\0\\0', a TIFF header, IFD0 with one entry,
    Orientation (0x0112, SHORT, count 1)."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1)  # one IFD entry
    tiff += struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)  # value left-justified
    tiff += struct.pack(e + "I", 0)  # no next IFD
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_exif(jpeg, orientation, big_endian, after_app0):
    """Inserts the APP1 segment right after SOI, or after the JFIF APP0 segment."""
    assert jpeg[:2] == b"\xff\xd8"
    pos = 2
    if after_app0 and jpeg[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:pos] + exif_app1(orientation, big_endian) + jpeg[pos:]


# ---- sources ---------------------------------------------------------------------------------

def load_digits():
    rec = np.fromfile(os.path.join(ROOT, "tests", "data", "heldout-1000.bin"), np.uint8)
    rec = rec.reshape(-1, 785)
    return rec[:, 0], rec[:, 1:].reshape(-1, 28, 28)


def load_photos():
    d = os.path.join(ROOT, "model", "nsfw-mobilenetv2")
    paths = sorted(glob.glob(os.path.join(d, "samples", "*.jpg")))
    paths += sorted(glob.glob(os.path.join(d, ".cache", "photos", "**", "*.jp*g"),
                              recursive=True))[:8]
    photos = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    photos = [p for p in photos if p is not None]
    if not photos:
        sys.exit("no photographs: run tools/fetch-models")
    return photos


class Writer:
    def __init__(self, out):
        self.out = out
        self.items = []

    def add(self, model, fmt, data, w, h, what, exif=None, ext=None):
        assert len(data) <= MAX_BYTES, (fmt, w, h, len(data))
        name = "%s-%03d.%s" % ("mnist" if model == "mnist" else "nsfw", len(self.items),
                               ext or fmt.split("-")[0])
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(data)
        self.items.append({"model": model, "file": name, "format": fmt, "size": [w, h],
                           "exif": exif, "what": what})


# ---- mnist -----------------------------------------------------------------------------------

def page(rng, digit, pw, ph, dh, paper=245.0, ink=20.0, tint=None, light=0.0, noise=0.0):
    """A held-out digit (light on dark, 28x28) drawn dark on paper: dh px tall at a random
    place of a pw x ph page; tint (BGR paper) makes it colour; light: brightness falloff
    across the page; noise: gaussian sigma. float64 BGR or gray, 0..255."""
    dh = max(1, min(dh, ph, pw))
    mask = cv2.resize(digit.astype(np.float32) / 255, (dh, dh), interpolation=cv2.INTER_CUBIC)
    mask = np.clip(mask, 0, 1)
    y = int(rng.integers(0, ph - dh + 1))
    x = int(rng.integers(0, pw - dh + 1))
    m = np.zeros((ph, pw), np.float64)
    m[y:y + dh, x:x + dh] = mask
    base = np.full((ph, pw), paper, np.float64)
    if light:
        gx = np.linspace(0, 1, pw)[None, :]
        gy = np.linspace(0, 1, ph)[:, None]
        base = base * (1 - light * (0.6 * gx + 0.4 * gy))
    img = base - (base - ink) * m
    if tint is not None:
        img = np.stack([img * t for t in tint], axis=-1)
    if noise:
        img = img + rng.normal(0, noise, img.shape)
    return np.clip(img, 0, 255)


def u8(a):
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def u16(a):
    return np.clip(np.rint(a * 257.0), 0, 65535).astype(np.uint16)


def make_mnist(w, rng):
    labels, digits = load_digits()
    pick = rng.permutation(len(labels))
    it = iter(pick)

    def d():
        return digits[next(it)]

    M = "mnist"
    # 28x28 digits as stored (light on dark): the recipe passes them through unchanged.
    for _ in range(8):
        w.add(M, "png", cv_encode(".png", d()), 28, 28, "28x28 digit, 8-bit gray")
    for _ in range(2):
        g = d().astype(np.float64)
        g16 = np.rint(g * 257 + rng.uniform(-128, 128, g.shape))
        g16 = np.clip(g16, 0, 65535).astype(np.uint16)
        w.add(M, "png16", cv_encode(".png", g16), 28, 28, "28x28 digit, 16-bit gray", ext="png")
    w.add(M, "png-rgb", cv_encode(".png", cv2.cvtColor(d(), cv2.COLOR_GRAY2BGR)), 28, 28,
          "28x28 digit, RGB", ext="png")
    w.add(M, "png", cv_encode(".png", 255 - d()), 28, 28, "28x28 digit inverted (dark on light)")
    a = d()
    bgra = np.dstack([np.zeros((28, 28, 3), np.uint8), a])  # black ink, alpha = the digit
    w.add(M, "png-alpha", cv_encode(".png", bgra), 28, 28,
          "28x28 black ink on transparent (composited over white)", ext="png")
    w.add(M, "bmp", cv_encode(".bmp", d()), 28, 28, "28x28 digit, BMP 8-bit")
    w.add(M, "bmp", cv_encode(".bmp", cv2.cvtColor(d(), cv2.COLOR_GRAY2BGR)), 28, 28,
          "28x28 digit, BMP 24-bit")
    w.add(M, "tiff", cv_encode(".tiff", d()), 28, 28, "28x28 digit, TIFF")
    w.add(M, "webp-lossless", cv_encode(".webp", cv2.cvtColor(d(), cv2.COLOR_GRAY2BGR),
                                        [cv2.IMWRITE_WEBP_QUALITY, 101]), 28, 28,
          "28x28 digit, WebP lossless", ext="webp")
    w.add(M, "pnm", cv_encode(".pgm", d()), 28, 28, "28x28 digit, PGM", ext="pgm")

    # Pages: a digit drawn on paper, the MNIST recipe (ink box to 20 px, centred by mass).
    pages = [  # (w, h, digit height, format, options)
        (40, 40, 30, "png", {}),
        (57, 83, 40, "png", {"noise": 4}),
        (100, 100, 60, "png", {"paper": 200, "light": 0.3}),
        (240, 240, 60, "png", {}),
        (333, 201, 120, "png", {"tint": (0.9, 1.0, 1.05), "light": 0.2}),
        (29, 28, 22, "png", {}),
        (640, 480, 200, "jpeg", {"noise": 3, "q": 90}),
        (480, 640, 150, "jpeg", {"noise": 2, "q": 75, "exif": 6}),
        (301, 157, 100, "jpeg", {"tint": (0.85, 0.95, 1.0), "q": 85, "exif": 3}),
        (250, 250, 90, "jpeg", {"light": 0.4, "noise": 5, "q": 70, "exif": 8}),
        (1000, 1000, 300, "jpeg", {"noise": 3, "q": 90}),
        (2000, 1400, 500, "jpeg", {"noise": 2, "q": 80}),
        (1500, 2000, 700, "webp", {"noise": 2}),
        (1201, 799, 400, "png", {"paper": 230}),
        (200, 300, 120, "webp", {"paper": 220, "noise": 3}),
        (160, 120, 70, "webp-lossless", {"tint": (1.0, 0.9, 0.8)}),
        (150, 150, 80, "png16", {"light": 0.3}),
        (97, 61, 50, "png16", {"tint": (0.95, 1.0, 0.9)}),
        (128, 96, 60, "bmp", {"noise": 4}),
        (96, 128, 60, "bmp", {"tint": (1.0, 0.97, 0.9)}),
        (180, 180, 100, "tiff", {}),
        (181, 99, 70, "tiff16", {"noise": 2}),
        (90, 90, 50, "pnm", {}),
        (120, 160, 80, "png-alpha", {}),
        (64, 48, 36, "jpeg-gray", {"q": 95, "exif": 5}),
        (7, 9, 7, "png", {}),
        (5, 5, 5, "png", {}),
        (41, 3, 3, "png", {}),
        (1, 1, 1, "png", {}),
        (30, 30, 1, "png", {"blank": True}),
        (200, 150, 1, "png", {"blank": True, "noise": 2}),
        (120, 120, 60, "png", {"paper": 140, "ink": 120}),  # faint: contrast under 0.15
        (120, 120, 70, "png", {"paper": 10, "ink": 240}),  # light ink on a dark page
    ]
    for pw, ph, dh, fmt, o in pages:
        blank = o.get("blank", False)
        img = page(rng, d() * (0 if blank else 1), pw, ph, dh, paper=o.get("paper", 245.0),
                   ink=o.get("ink", 20.0), tint=o.get("tint"), light=o.get("light", 0.0),
                   noise=o.get("noise", 0.0))
        what = "%dx%d page, digit %d px, %s" % (pw, ph, dh, ", ".join(
            "%s=%s" % kv for kv in sorted(o.items()) if kv[0] not in ("q", "exif")) or "plain")
        exif = o.get("exif")
        if fmt in ("jpeg", "jpeg-gray"):
            g = img if img.ndim == 2 else cv2.cvtColor(u8(img), cv2.COLOR_BGR2GRAY)
            src = u8(g) if fmt == "jpeg-gray" else u8(img)
            data = cv_encode(".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, o.get("q", 90)])
            if exif:  # the mnist config says exif_orientation false: must be ignored
                data = with_exif(data, exif, big_endian=exif % 2 == 0, after_app0=exif > 4)
            w.add(M, fmt, data, pw, ph, what + (", EXIF %d" % exif if exif else ""), exif,
                  ext="jpg")
        elif fmt == "png":
            w.add(M, fmt, cv_encode(".png", u8(img)), pw, ph, what)
        elif fmt == "png16":
            w.add(M, fmt, cv_encode(".png", u16(img)), pw, ph, what + ", 16-bit", ext="png")
        elif fmt == "png-alpha":
            # Ink as opacity over a transparent page whose hidden colour is not white.
            ink = 1 - img / 255.0 if img.ndim == 2 else 1 - img.mean(axis=2) / 255.0
            alpha = u8(255 * np.clip(ink * 1.2, 0, 1))
            bgr = np.zeros((ph, pw, 3), np.uint8)
            bgr[..., 0] = 30
            bgr[..., 2] = 90
            w.add(M, fmt, cv_encode(".png", np.dstack([bgr, alpha])), pw, ph,
                  what + ", ink as alpha over transparent", ext="png")
        elif fmt == "webp":
            w.add(M, fmt, cv_encode(".webp", u8(img), [cv2.IMWRITE_WEBP_QUALITY, 80]), pw, ph,
                  what)
        elif fmt == "webp-lossless":
            w.add(M, fmt, cv_encode(".webp", u8(img), [cv2.IMWRITE_WEBP_QUALITY, 101]), pw, ph,
                  what, ext="webp")
        elif fmt == "bmp":
            w.add(M, fmt, cv_encode(".bmp", u8(img)), pw, ph, what)
        elif fmt == "tiff":
            w.add(M, fmt, cv_encode(".tiff", u8(img)), pw, ph, what)
        elif fmt == "tiff16":
            w.add(M, fmt, cv_encode(".tiff", u16(img)), pw, ph, what + ", 16-bit", ext="tiff")
        elif fmt == "pnm":
            w.add(M, fmt, cv_encode(".pgm" if img.ndim == 2 else ".ppm", u8(img)), pw, ph, what,
                  ext="pgm" if img.ndim == 2 else "ppm")
        else:
            raise ValueError(fmt)


# ---- nsfw-mobilenetv2 ------------------------------------------------------------------------

def view(rng, photo, pw, ph, float_out=False):
    """A random crop of `photo` (about the target's aspect ratio), resized to pw x ph."""
    H, W = photo.shape[:2]
    aspect = pw / ph * rng.uniform(0.8, 1.25)
    cw = min(W, int(round(min(W, H * aspect) * rng.uniform(0.5, 1.0))))
    ch = min(H, max(1, int(round(cw / aspect))))
    cw = max(1, cw)
    x = int(rng.integers(0, W - cw + 1))
    y = int(rng.integers(0, H - ch + 1))
    crop = photo[y:y + ch, x:x + cw].astype(np.float32)
    interp = cv2.INTER_AREA if pw * ph < cw * ch else cv2.INTER_CUBIC
    out = cv2.resize(crop, (pw, ph), interpolation=interp)
    out = np.clip(out, 0, 255)
    return out if float_out else u8(out)


def alpha_mask(rng, pw, ph):
    """Opaque disc, a soft edge, fully transparent corners: 0..255."""
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float64)
    cx, cy = pw * rng.uniform(0.35, 0.65), ph * rng.uniform(0.35, 0.65)
    r = np.hypot((xx - cx) / (pw / 2), (yy - cy) / (ph / 2))
    return u8(255 * np.clip((1.0 - r) * 2.5, 0, 1))


def make_nsfw(w, rng):
    photos = load_photos()
    N = "nsfw-mobilenetv2"

    def ph():
        return photos[int(rng.integers(0, len(photos)))]

    # JPEG, EXIF orientation 1..8 (both byte orders, before and after APP0), non-square.
    sizes = [(640, 427), (427, 640), (500, 333), (301, 517), (1024, 683), (333, 251),
             (800, 450), (257, 383)]
    for k in range(8):
        o = k + 1
        pw, phh = sizes[k]
        data = cv_encode(".jpg", view(rng, ph(), pw, phh), [cv2.IMWRITE_JPEG_QUALITY, 90])
        w.add(N, "jpeg-exif", with_exif(data, o, big_endian=k % 2 == 1, after_app0=k >= 4), pw,
              phh, "JPEG %dx%d, EXIF orientation %d" % (pw, phh, o), o, ext="jpg")
    # A second round of orientations on other sizes (5..8 transpose: aspect ratio swaps).
    for o, (pw, phh) in zip([5, 6, 7, 8, 2, 3], [(1999, 1201), (1200, 1600), (97, 223),
                                                  (223, 97), (225, 223), (60, 40)]):
        data = cv_encode(".jpg", view(rng, ph(), pw, phh), [cv2.IMWRITE_JPEG_QUALITY, 85])
        w.add(N, "jpeg-exif", with_exif(data, o, big_endian=o % 2 == 0, after_app0=o > 5), pw,
              phh, "JPEG %dx%d, EXIF orientation %d" % (pw, phh, o), o, ext="jpg")
    # Plain JPEG: quality, progressive, gray, sizes from 1x1 to 2000 px.
    for pw, phh, q, extra in [(640, 427, 95, ()), (224, 224, 90, ()), (223, 225, 75, ()),
                              (2000, 1333, 85, ()), (1333, 2000, 80, ()), (1, 1, 90, ()),
                              (3, 5, 90, ()), (17, 31, 60, ()), (2000, 40, 90, ()),
                              (40, 1999, 90, ()), (512, 512, 70, (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
                              (999, 777, 92, (cv2.IMWRITE_JPEG_PROGRESSIVE, 1))]:
        data = cv_encode(".jpg", view(rng, ph(), pw, phh),
                         [cv2.IMWRITE_JPEG_QUALITY, q, *extra])
        w.add(N, "jpeg", data, pw, phh, "JPEG %dx%d q%d%s" % (pw, phh, q,
                                                              " progressive" if extra else ""),
              ext="jpg")
    for pw, phh in [(480, 360), (225, 224)]:
        g = cv2.cvtColor(view(rng, ph(), pw, phh), cv2.COLOR_BGR2GRAY)
        w.add(N, "jpeg-gray", cv_encode(".jpg", g, [cv2.IMWRITE_JPEG_QUALITY, 90]), pw, phh,
              "gray JPEG %dx%d" % (pw, phh), ext="jpg")
    g = cv2.cvtColor(view(rng, ph(), 300, 400), cv2.COLOR_BGR2GRAY)
    w.add(N, "jpeg-gray", with_exif(cv_encode(".jpg", g), 6, False, False), 300, 400,
          "gray JPEG 300x400, EXIF orientation 6", 6, ext="jpg")

    # PNG: 8-bit colour and gray, 16-bit, palette, alpha.
    for pw, phh in [(224, 224), (640, 427), (311, 173), (2, 2), (1000, 700)]:
        w.add(N, "png", cv_encode(".png", view(rng, ph(), pw, phh)), pw, phh,
              "PNG %dx%d" % (pw, phh))
    for pw, phh in [(320, 240), (224, 224)]:
        g = cv2.cvtColor(view(rng, ph(), pw, phh), cv2.COLOR_BGR2GRAY)
        w.add(N, "png-gray", cv_encode(".png", g), pw, phh, "gray PNG %dx%d" % (pw, phh),
              ext="png")
    for pw, phh in [(400, 300), (224, 224), (123, 457)]:
        img = u16(view(rng, ph(), pw, phh, float_out=True))  # real 16-bit content
        w.add(N, "png16", cv_encode(".png", img), pw, phh, "16-bit PNG %dx%d" % (pw, phh),
              ext="png")
    g = u16(cv2.cvtColor(view(rng, ph(), 256, 192, float_out=True), cv2.COLOR_BGR2GRAY))
    w.add(N, "png16", cv_encode(".png", g), 256, 192, "16-bit gray PNG 256x192", ext="png")
    p = Image.fromarray(cv2.cvtColor(view(rng, ph(), 300, 200), cv2.COLOR_BGR2RGB))
    w.add(N, "png-palette", pil_encode(p.quantize(64), "PNG"), 300, 200,
          "palette PNG 300x200 (64 colours)", ext="png")
    for pw, phh in [(400, 300), (224, 224), (199, 301)]:
        img = np.dstack([view(rng, ph(), pw, phh), alpha_mask(rng, pw, phh)])
        w.add(N, "png-alpha", cv_encode(".png", img), pw, phh,
              "RGBA PNG %dx%d (transparent corners over photo colours)" % (pw, phh), ext="png")
    g = cv2.cvtColor(view(rng, ph(), 260, 260), cv2.COLOR_BGR2GRAY)
    la = Image.fromarray(np.dstack([g, alpha_mask(rng, 260, 260)]), "LA")
    w.add(N, "png-alpha", pil_encode(la, "PNG"), 260, 260, "gray+alpha PNG 260x260", ext="png")

    # WebP: lossy, lossless, alpha.
    for pw, phh, q in [(640, 427, 80), (1600, 1067, 75), (224, 224, 90), (33, 47, 80)]:
        w.add(N, "webp", cv_encode(".webp", view(rng, ph(), pw, phh),
                                   [cv2.IMWRITE_WEBP_QUALITY, q]), pw, phh,
              "WebP %dx%d q%d" % (pw, phh, q))
    w.add(N, "webp-lossless", cv_encode(".webp", view(rng, ph(), 301, 199),
                                        [cv2.IMWRITE_WEBP_QUALITY, 101]), 301, 199,
          "lossless WebP 301x199", ext="webp")
    img = np.dstack([view(rng, ph(), 320, 320), alpha_mask(rng, 320, 320)])
    w.add(N, "webp-alpha", cv_encode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, 101]), 320, 320,
          "lossless WebP 320x320 with alpha", ext="webp")

    # BMP, TIFF, PNM.
    for pw, phh in [(500, 375), (225, 225)]:
        w.add(N, "bmp", cv_encode(".bmp", view(rng, ph(), pw, phh)), pw, phh,
              "BMP 24-bit %dx%d" % (pw, phh))
    g = cv2.cvtColor(view(rng, ph(), 150, 100), cv2.COLOR_BGR2GRAY)
    w.add(N, "bmp", cv_encode(".bmp", g), 150, 100, "BMP 8-bit gray 150x100")
    for pw, phh in [(400, 300), (224, 224)]:
        w.add(N, "tiff", cv_encode(".tiff", view(rng, ph(), pw, phh)), pw, phh,
              "TIFF %dx%d" % (pw, phh))
    img = u16(view(rng, ph(), 300, 220, float_out=True))
    w.add(N, "tiff16", cv_encode(".tiff", img), 300, 220, "16-bit TIFF 300x220", ext="tiff")
    img = np.dstack([view(rng, ph(), 240, 180), alpha_mask(rng, 240, 180)])
    w.add(N, "tiff-alpha", cv_encode(".tiff", img), 240, 180, "RGBA TIFF 240x180", ext="tiff")
    w.add(N, "pnm", cv_encode(".ppm", view(rng, ph(), 250, 190)), 250, 190, "PPM 250x190",
          ext="ppm")
    g = cv2.cvtColor(view(rng, ph(), 190, 250), cv2.COLOR_BGR2GRAY)
    w.add(N, "pnm", cv_encode(".pgm", g), 190, 250, "PGM 190x250", ext="pgm")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    cv2.setRNGSeed(args.seed)
    w = Writer(args.out_dir)
    make_mnist(w, np.random.default_rng(args.seed))
    make_nsfw(w, np.random.default_rng(args.seed + 1))
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        json.dump(w.items, f, indent=1)
    counts = {}
    for it in w.items:
        counts[it["model"]] = counts.get(it["model"], 0) + 1
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
