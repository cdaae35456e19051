"""The photo model's request path in the Python peers: JSON -> base64 -> PIL -> blob -> model.

Owns: the body forms predictd's /predict accepts ({"image": b64} and the batch
{"images": [b64, ...]}), the preprocessing the photo model's config.json declares, written the
way a Python service would with Pillow, and the answer in predictd's shape for a labelled
classifier ({"confidence", "prediction": label, "probabilities"}, 4 decimals; a batch answers
{"predictions": [...]}). A batch runs as one forward pass. Does not own HTTP (the *_app.py
files) or the engines (backends.py).

Preprocessing (model/nsfw-mobilenetv2/config.json: rgb, stretch, area, /255), Pillow 9.4:
  Image.open; draft("RGB", (224, 224)) — a JPEG is decoded at 1/2, 1/4 or 1/8 scale by
  libjpeg's DCT scaling when both sides stay >= 224, Pillow's counterpart of predictd's
  shrink-on-load; ImageOps.exif_transpose (phone photos); convert("RGB") (alpha dropped,
  gray replicated); resize((224, 224), Image.BOX) — BOX is Pillow's area filter (each output
  pixel the mean of the input pixels it covers, fractional edges weighted), the counterpart of
  OpenCV's INTER_AREA on a downscale; float32 / 255, NHWC.

Environment (read once per worker, at import of the app module):
  PEER_MODEL    the ONNX file; its labels are ../labels.txt beside ../config.json
  PEER_THREADS  intra-op threads per worker (default 1, as predictd's --threads-per-worker 1)
"""

import base64
import binascii
import io
import json
import os

import numpy as np
from PIL import Image, ImageOps

from backends import CvModel, TorchModel
from digit_service import BadRequest

SIDE = 224
MAX_BATCH = 64                   # predictd's limits.max_batch


def decode_body(raw):
    """bytes of the JSON request body -> ([encoded image bytes], is_batch)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    if not isinstance(doc, dict) or ("image" in doc) == ("images" in doc):
        raise BadRequest('body must be {"image": "<base64>"} or {"images": ["<base64>", ...]}')
    batch = "images" in doc
    texts = doc["images"] if batch else [doc["image"]]
    if not isinstance(texts, list) or not texts or len(texts) > MAX_BATCH:
        raise BadRequest(f'"images" must be a list of 1..{MAX_BATCH} base64 strings')
    out = []
    for t in texts:
        if not isinstance(t, str):
            raise BadRequest("each image must be a base64 string")
        try:
            out.append(base64.b64decode(t, validate=True))
        except (binascii.Error, ValueError):
            raise BadRequest("image is not valid base64") from None
    return out, batch


def preprocess(data):
    """Encoded image bytes -> float32 [224, 224, 3] RGB in [0, 1] (see the module docstring)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (SIDE, SIDE))
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGB").resize((SIDE, SIDE), Image.BOX)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise BadRequest(f"image could not be decoded: {e}") from None
    return np.asarray(im, dtype=np.float32) / np.float32(255.0)


def blob(images):
    """[encoded image bytes] -> float32 [N, 224, 224, 3]."""
    return np.ascontiguousarray(np.stack([preprocess(d) for d in images]))


def read_labels(model_path):
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(model_path))),
                        "labels.txt")
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def answer(probs, labels):
    """Probabilities [5] -> predictd's document (keys sorted, 4 decimals, label names)."""
    probs = [round(float(p), 4) for p in np.asarray(probs).reshape(-1)]
    best = max(range(len(probs)), key=probs.__getitem__)
    return {"confidence": probs[best], "prediction": labels[best], "probabilities": probs}


class PhotoModel:
    """A backend plus the model's labels."""

    def __init__(self, backend, path, threads):
        self.engine = (TorchModel if backend == "torch" else CvModel)(path, threads)
        self.labels = read_labels(path)


def load_model(backend):
    return PhotoModel(backend, os.environ["PEER_MODEL"], int(os.environ.get("PEER_THREADS", "1")))


def predict(model, raw_body):
    """Request body bytes -> response document (raises BadRequest)."""
    images, batch = decode_body(raw_body)
    probs = model.engine.forward(blob(images))
    docs = [answer(p, model.labels) for p in probs]
    return {"predictions": docs} if batch else docs[0]
