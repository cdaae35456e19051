#!/usr/bin/python3
"""reference_predict.py REPOSITORY MANIFEST OUT — the correctness contract's reference answers.

For each image of MANIFEST (make_images.py's manifest.json; image files beside it) the model's
answer computed independently of the server: the preprocessing re-written here in numpy (plus
OpenCV for decoding the raw pixels and for the resize filters) from the model's config.json as
docs/models.md describes it, and inference by a second engine, OpenCV DNN 4.6
(cv2.dnn.readNetFromONNX; python3-opencv), which loads both shipped models (the server runs
ONNX Runtime). Writes OUT: {"<file>": {"model": name, "probabilities": [...], "label": i}}.

Independence: the raw pixels come from cv2.imdecode(IMREAD_UNCHANGED) — depth, channels and
orientation as stored — or, for a JPEG the documented shrink-on-load rule lets be decoded
smaller, from cv2.imdecode(IMREAD_REDUCED_*) at the scale chosen here; everything after that is
done here from the documentation (the halvings of an area resize included):
EXIF orientation (APP1 parsed here), 16-bit to 8 bits, alpha composited over white, colour
order, resize policy, value transform, layout; the "digit" recipe re-written from its
description (docs/models.md and the step list at the top of worker/models/preprocess.cpp).

--perturb KEY=VALUE (repeatable) overrides a preprocess key of every config (e.g.
interpolation=linear, divisor=256, exif_orientation=false): the contract test uses it to show
that it can fail.
"""
import argparse
import json
import os
import struct

import cv2
import numpy as np

F32 = np.float32


# ---- config ----------------------------------------------------------------------------------

def strip_comments(text):
    """JSON with // comments (outside strings) -> JSON."""
    out, i, in_str = [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_config(model_dir, perturb):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.loads(strip_comments(f.read()))
    inp = cfg.get("input", {})
    pre = dict(cfg.get("preprocess", {}))
    for k, v in perturb:
        pre[k] = json.loads(v) if v[:1] in "0123456789-[tf" else v
    out = cfg.get("output", {})

    def triple(v, default):
        v = default if v is None else v
        return [float(x) for x in (v if isinstance(v, list) else [v])]

    return {
        "backend": cfg.get("backend", "onnxruntime"),
        "layout": inp.get("layout", "NCHW"),
        "width": inp["width"], "height": inp["height"], "channels": inp["channels"],
        "color": pre.get("color", "rgb"),
        "resize": pre.get("resize", "stretch"),
        "interpolation": {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR,
                          "cubic": cv2.INTER_CUBIC}[pre.get("interpolation", "area")],
        "crop_fraction": float(pre.get("crop_fraction", 0.875)),
        "pad_value": pre.get("pad_value", 0),
        "divisor": float(pre.get("divisor", 255)),
        "mean": triple(pre.get("mean"), 0.0),
        "std": triple(pre.get("std"), 1.0),
        "exif_orientation": bool(pre.get("exif_orientation", True)),
        "softmax": bool(out.get("softmax", False)),
        "outputs": out.get("names"),
    }


def lround(x):
    """C's lround: halves away from zero (Python's round() takes halves to even)."""
    return int(np.floor(x + 0.5)) if x >= 0 else -int(np.floor(-x + 0.5))


# ---- EXIF orientation (JPEG APP1), parsed here -----------------------------------------------

def exif_orientation(data):
    """The Orientation tag (0x0112) of a JPEG's EXIF IFD0, or 1."""
    if data[:2] != b"\xff\xd8":
        return 1
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # EOI, SOS: no more metadata
            break
        size = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        seg = data[pos + 4:pos + 2 + size]
        if marker == 0xE1 and seg[:6] == b"Exif\0\0":
            t = seg[6:]
            e = "<" if t[:2] == b"II" else ">"
            ifd = struct.unpack(e + "I", t[4:8])[0]
            n = struct.unpack(e + "H", t[ifd:ifd + 2])[0]
            for k in range(n):
                tag, typ, cnt = struct.unpack(e + "HHI", t[ifd + 2 + 12 * k:ifd + 10 + 12 * k])
                if tag == 0x0112 and typ == 3 and cnt == 1:
                    v = struct.unpack(e + "H", t[ifd + 10 + 12 * k:ifd + 12 + 12 * k])[0]
                    return v if 1 <= v <= 8 else 1
            return 1
        pos += 2 + size
    return 1


def orient(img, o):
    """Pixels as stored -> as displayed, for EXIF orientation o (TIFF 6.0 / EXIF 2.3)."""
    if o == 2:
        return img[:, ::-1]
    if o == 3:
        return img[::-1, ::-1]
    if o == 4:
        return img[::-1, :]
    t = np.swapaxes(img, 0, 1)  # transpose: row r of the display is column r of the storage
    if o == 5:
        return t
    if o == 6:  # rotate 90 degrees clockwise
        return t[:, ::-1]
    if o == 7:
        return t[::-1, ::-1]
    if o == 8:  # rotate 90 degrees counter-clockwise
        return t[::-1, :]
    return img


# ---- "digit": the MNIST recipe ---------------------------------------------------------------

def unit_float(raw):
    """Step 1: depth to float32 in [0, 1]."""
    if raw.dtype == np.uint8:
        return raw.astype(F32) / F32(255)
    if raw.dtype == np.uint16:
        return (raw.astype(np.float64) * (1.0 / 65535)).astype(F32)
    return np.clip(np.nan_to_num(raw.astype(F32), nan=0.0), 0, 1)


def to_gray_unit(f):
    """Step 2: BGR(A) float -> gray (BT.601), alpha composited over white."""
    if f.ndim == 2:
        return f
    b, g, r = f[..., 0], f[..., 1], f[..., 2]
    gray = (F32(0.299) * r + F32(0.587) * g + F32(0.114) * b).astype(F32)
    if f.shape[2] == 4:
        a = f[..., 3]
        gray = gray * a + (F32(1) - a)
    return gray.astype(F32)


def ring_mean(g):
    if g.shape[0] <= 2 or g.shape[1] <= 2:
        return float(g.astype(np.float64).mean())
    ring = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]]).astype(np.float64)
    return float(ring.mean())


def page_background(g):
    """Step 5: a plane a + b x + c y fitted (least squares) to the page's outer ring
    (max(1, short side / 32) px wide); a page under 8 px: its border mean."""
    h, w = g.shape
    if min(h, w) < 8:
        return np.full(g.shape, ring_mean(g), F32)
    r = max(1, min(h, w) // 32)
    yy, xx = np.mgrid[0:h, 0:w]
    on = (yy < r) | (yy >= h - r) | (xx < r) | (xx >= w - r)
    a = np.stack([np.ones(on.sum()), xx[on], yy[on]], axis=1).astype(np.float64)
    coef = np.linalg.lstsq(a, g[on].astype(np.float64), rcond=None)[0]
    return (coef[0] + coef[1] * xx + coef[2] * yy).astype(F32)


def digit_recipe(raw):
    # 0. A page whose long side is over 1024 is shrunk first, as decoded (area, aspect kept).
    h, w = raw.shape[:2]
    if max(h, w) > 1024:
        s = 1024 / max(h, w)
        size = (min(max(lround(w * s), 1), 1024), min(max(lround(h * s), 1), 1024))
        raw = scale_to(raw, size, cv2.INTER_AREA)
    g = to_gray_unit(unit_float(raw))
    # 3. Polarity: a light border means dark ink: invert so the digit is light on dark.
    background = ring_mean(g)
    if background > 0.5:
        g = (F32(1) - g).astype(F32)
        background = 1.0 - background
    # 4. 28x28 is an MNIST digit already.
    if g.shape == (28, 28):
        return g
    # 5. Ink = what stands above the page's background, if anything stands out (0.15).
    ink = np.maximum(g - page_background(g), F32(0)).astype(F32)
    contrast = float(ink.max())
    if contrast >= 0.15:
        ys, xs = np.nonzero(ink > 0.4 * contrast)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        crop = (ink[y0:y1, x0:x1].astype(np.float64) * (1.0 / contrast)).astype(F32)
        crop = ((crop - F32(0.15)) * (1.0 / 0.85)).astype(F32)
        crop = np.clip(crop, 0, 1)
        # 6. Box to 20 px on its long side, centre of mass at the centre of 28x28.
        bw, bh = x1 - x0, y1 - y0
        fit = 20.0 / max(bw, bh)
        w2 = min(max(lround(bw * fit), 1), 20)
        h2 = min(max(lround(bh * fit), 1), 20)
        scaled = cv2.resize(crop, (w2, h2),
                            interpolation=cv2.INTER_AREA if fit < 1 else cv2.INTER_LINEAR)
        scaled = np.clip(scaled, 0, 1).astype(np.float64)
        m = scaled.sum()
        yy, xx = np.mgrid[0:h2, 0:w2]
        cx = (xx * scaled).sum() / m if m > 0 else w2 / 2
        cy = (yy * scaled).sum() / m if m > 0 else h2 / 2
        x = min(max(lround(14 - cx), 0), 28 - w2)
        y = min(max(lround(14 - cy), 0), 28 - h2)
        out = np.zeros((28, 28), F32)
        out[y:y + h2, x:x + w2] = scaled
        return out
    # No ink: the page padded to a square with its background value, resized whole.
    h, w = g.shape
    side = max(h, w)
    sq = np.full((side, side), background, F32)
    top, left = (side - h) // 2, (side - w) // 2
    sq[top:top + h, left:left + w] = g
    return np.clip(cv2.resize(sq, (28, 28), interpolation=cv2.INTER_AREA), 0, 1)


# ---- decoding, with JPEG shrink-on-load ---------------------------------------------------------

def policy_size(sw, sh, cfg):
    """The size the resize policy resizes a sw x sh image to (before crop or padding)."""
    w, h = cfg["width"], cfg["height"]
    if cfg["resize"] == "center_crop":
        scale = max(w, h) / cfg["crop_fraction"] / min(sw, sh)
        return max(w, lround(sw * scale)), max(h, lround(sh * scale))
    if cfg["resize"] == "letterbox":
        scale = min(w / sw, h / sh)
        return min(max(lround(sw * scale), 1), w), min(max(lround(sh * scale), 1), h)
    return w, h


def jpeg_reduction(sw, sh, cfg):
    """docs/models.md, "Shrink on load": the largest of 8, 4, 2 that leaves both sides of the
    decoded JPEG at least the policy's size, in either orientation when EXIF orientation is
    applied; for the digit recipe, pages over 1024 px on their long side, down to no less."""
    for r in (8, 4, 2):
        rw, rh = -(-sw // r), -(-sh // r)
        if cfg["resize"] == "digit":
            if max(rw, rh) >= 1024:
                return r
            continue
        nw, nh = policy_size(sw, sh, cfg)
        tw, th = policy_size(sh, sw, cfg)
        if rw >= nw and rh >= nh and (not cfg["exif_orientation"] or (rh >= tw and rw >= th)):
            return r
    return 1


def decode(data, cfg):
    """Raw pixels, as stored (IMREAD_UNCHANGED), except a JPEG that may be decoded smaller: it
    is then decoded at that DCT scale (IMREAD_REDUCED_*, orientation ignored: applied here), in
    colour, or in gray for the digit recipe."""
    buf = np.frombuffer(data, np.uint8)
    raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if raw is None or data[:2] != b"\xff\xd8":
        return raw
    r = jpeg_reduction(raw.shape[1], raw.shape[0], cfg)
    if r == 1:
        return raw
    gray = cfg["resize"] == "digit"
    flag = {2: (cv2.IMREAD_REDUCED_GRAYSCALE_2, cv2.IMREAD_REDUCED_COLOR_2),
            4: (cv2.IMREAD_REDUCED_GRAYSCALE_4, cv2.IMREAD_REDUCED_COLOR_4),
            8: (cv2.IMREAD_REDUCED_GRAYSCALE_8, cv2.IMREAD_REDUCED_COLOR_8)}[r][0 if gray else 1]
    return cv2.imdecode(buf, flag | cv2.IMREAD_IGNORE_ORIENTATION)


# ---- photo models: depth, alpha, colour, resize policy, values -------------------------------

def to_eight_bit(raw):
    if raw.dtype == np.uint8:
        return raw
    if raw.dtype == np.uint16:  # "16-bit images are scaled to 8 bits": v / 257, rounded
        return np.rint(raw.astype(np.float64) / 257).astype(np.uint8)
    return np.clip(np.rint(np.nan_to_num(raw.astype(np.float64)) * 255), 0, 255).astype(np.uint8)


def over_white(bgra):
    """"alpha is composited over white": c a + 255 (1 - a), a = alpha / 255, rounded."""
    a = bgra[..., 3:4].astype(np.float64) / 255
    c = bgra[..., :3].astype(np.float64)
    return np.clip(np.rint(c * a + 255 * (1 - a)), 0, 255).astype(np.uint8)


def colour(img8, cfg):
    """8-bit BGR / gray -> the declared order and channel count."""
    if img8.ndim == 3 and img8.shape[2] == 4:
        img8 = over_white(img8)
    gray = img8.ndim == 2
    if cfg["color"] == "gray" or cfg["channels"] == 1:
        if not gray:
            img8 = np.rint(0.299 * img8[..., 2] + 0.587 * img8[..., 1]
                           + 0.114 * img8[..., 0]).astype(np.uint8)
        return img8 if cfg["channels"] == 1 else np.repeat(img8[..., None], 3, axis=2)
    if gray:
        return np.repeat(img8[..., None], 3, axis=2)
    return img8[..., ::-1] if cfg["color"] == "rgb" else img8


def halvings(img, size):
    """"An area resize first halves the image (2x2 means) while both sides are even and at
    least twice the target": the 2x2 means computed here in integers (round half up, as
    OpenCV's fast path rounds), then the rest of the way by the resize filter."""
    while (img.shape[1] % 2 == 0 and img.shape[0] % 2 == 0 and img.shape[1] >= 2 * size[0]
           and img.shape[0] >= 2 * size[1]):
        if img.dtype in (np.uint8, np.uint16):
            q = img.astype(np.int64)
            s = q[0::2, 0::2] + q[0::2, 1::2] + q[1::2, 0::2] + q[1::2, 1::2]
            img = ((s + 2) // 4).astype(img.dtype)
        else:
            img = ((img[0::2, 0::2] + img[0::2, 1::2] + img[1::2, 0::2] + img[1::2, 1::2])
                   * 0.25).astype(img.dtype)
    return np.ascontiguousarray(img)


def scale_to(img, size, interp):
    if interp == cv2.INTER_AREA:
        img = halvings(img, size)
        if (img.shape[1], img.shape[0]) == tuple(size):
            return img
    return cv2.resize(img, tuple(size), interpolation=interp)


def resize(img, cfg):
    w, h = cfg["width"], cfg["height"]
    interp = cfg["interpolation"]
    sh, sw = img.shape[:2]
    img = np.ascontiguousarray(img)
    if cfg["resize"] == "center_crop":
        scale = max(w, h) / cfg["crop_fraction"] / min(sw, sh)
        rw, rh = max(w, lround(sw * scale)), max(h, lround(sh * scale))
        r = img if (rw, rh) == (sw, sh) else scale_to(img, (rw, rh), interp)
        x, y = (rw - w) // 2, (rh - h) // 2
        return r[y:y + h, x:x + w]
    if cfg["resize"] == "letterbox":
        scale = min(w / sw, h / sh)
        rw = min(max(lround(sw * scale), 1), w)
        rh = min(max(lround(sh * scale), 1), h)
        r = scale_to(img, (rw, rh), interp)
        out = np.full((h, w) + img.shape[2:], cfg["pad_value"], img.dtype)
        left, top = (w - rw) // 2, (h - rh) // 2
        out[top:top + rh, left:left + rw] = r.reshape(rh, rw, *img.shape[2:])
        return out
    if (sw, sh) == (w, h):
        return img
    return scale_to(img, (w, h), interp)


def values(img, cfg, divisor):
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[..., None]
    mean = np.array(cfg["mean"] * (x.shape[2] // len(cfg["mean"])))
    std = np.array(cfg["std"] * (x.shape[2] // len(cfg["std"])))
    return ((x / divisor - mean) / std).astype(F32)  # H x W x C


def model_input(data, cfg):
    raw = decode(data, cfg)
    if raw is None:
        raise ValueError("undecodable")
    if cfg["exif_orientation"]:
        raw = orient(raw, exif_orientation(data))
    if cfg["resize"] == "digit":
        d = digit_recipe(raw)
        if (cfg["width"], cfg["height"]) != (28, 28):
            d = resize(d, cfg)
        x = values(d, cfg, 1.0)  # digit values are already in [0, 1]
        if cfg["channels"] == 3:
            x = np.repeat(x, 3, axis=2)
    else:
        img8 = to_eight_bit(raw)
        if img8.ndim == 3 and img8.shape[2] == 4:
            img8 = over_white(img8)  # at full size, before any resize
        x = values(colour(resize(img8, cfg), cfg), cfg, cfg["divisor"])
    return np.transpose(x, (2, 0, 1)) if cfg["layout"] == "NCHW" else x


# ---- second engine: OpenCV DNN ---------------------------------------------------------------

def run(model_dir, cfg, inputs):
    versions = sorted(int(v) for v in os.listdir(model_dir) if v.isdigit())
    net = cv2.dnn.readNetFromONNX(os.path.join(model_dir, str(versions[-1]), "model.onnx"))
    outs = []
    for i in range(0, len(inputs), 8):
        net.setInput(np.ascontiguousarray(np.stack(inputs[i:i + 8])))
        names = cfg["outputs"] or [net.getUnconnectedOutLayersNames()[0]]
        outs.append(net.forward(names[0]).reshape(len(inputs[i:i + 8]), -1).astype(np.float64))
    p = np.concatenate(outs)
    if cfg["softmax"]:
        p = np.exp(p - p.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repository")
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--perturb", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--only", action="append", default=[], metavar="FILE",
                    help="only these images of the manifest")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    perturb = [p.split("=", 1) for p in args.perturb]
    with open(args.manifest) as f:
        items = json.load(f)
    if args.only:
        items = [it for it in items if it["file"] in args.only]
    here = os.path.dirname(os.path.abspath(args.manifest))
    result = {}
    for model in sorted({it["model"] for it in items}):
        model_dir = os.path.join(args.repository, model)
        cfg = load_config(model_dir, perturb)
        mine = [it for it in items if it["model"] == model]
        inputs = []
        for it in mine:
            with open(os.path.join(here, it["file"]), "rb") as f:
                inputs.append(model_input(f.read(), cfg))
        for it, p in zip(mine, run(model_dir, cfg, inputs)):
            result[it["file"]] = {"model": model, "probabilities": [float(v) for v in p],
                                  "label": int(np.argmax(p))}
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
