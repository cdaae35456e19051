"""The request path the Python peers share: JSON body -> base64 -> PNG -> blob -> model -> JSON.

Owns: the preprocessing copied from predictd (so every stack answers the same digit with the
same tensor). The model backends (OpenCV DNN, PyTorch eager) are backends.py; HTTP is
flask_app.py, falcon_app.py and torch_app.py; photo_service.py is the photo model's path.

Environment (read once per worker, at import of the app module):
  PEER_MODEL    path to the ONNX model (default: model/mnist/1/model.onnx of this repo)
  PEER_THREADS  intra-op threads per worker (default 1, as predictd's --threads-per-worker 1)
"""

import base64
import binascii
import json
import os

import cv2
import numpy as np

from backends import CvModel, TorchModel  # noqa: F401 (ceiling.py, bodies.py use them here)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(REPO, "model", "mnist-cnn.onnx")
SIDE = 28


class BadRequest(Exception):
    """A client error: rendered as HTTP 400 {"error": message} by the app."""


def decode_body(raw):
    """bytes of the JSON request body -> PNG bytes."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("image"), str):
        raise BadRequest('body must be {"image": "<base64 PNG>"}')
    try:
        return base64.b64decode(doc["image"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("image is not valid base64") from None


def preprocess(png):
    """Encoded image bytes -> float32 blob [1,1,28,28] in [0,1], light digit on dark.

    Same steps as predictd: decode unchanged; 16-bit /65535, 8-bit /255; RGBA composited over
    white, then gray; BGR -> gray; invert when the 1-pixel border ring is mostly light; pad to
    square with the background (border) value; INTER_AREA resize to 28x28 unless already."""
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise BadRequest("image could not be decoded")
    if img.dtype == np.uint16:
        x = img.astype(np.float32) / 65535.0
    elif img.dtype == np.uint8:
        x = img.astype(np.float32) / 255.0
    else:
        raise BadRequest(f"unsupported pixel depth {img.dtype}")
    if x.ndim == 3 and x.shape[2] == 4:
        alpha = x[:, :, 3:4]
        x = cv2.cvtColor(x[:, :, :3] * alpha + (1.0 - alpha), cv2.COLOR_BGR2GRAY)
    elif x.ndim == 3 and x.shape[2] == 3:
        x = cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
    elif x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    elif x.ndim != 2:
        raise BadRequest(f"unsupported channel count {x.shape}")
    h, w = x.shape
    if h >= 2 and w >= 2:
        ring = np.concatenate([x[0, :], x[-1, :], x[1:-1, 0], x[1:-1, -1]])
    else:
        ring = x.ravel()
    if float(ring.mean()) > 0.5:
        x = 1.0 - x
        ring = 1.0 - ring
    if h != w:
        background = float(ring.mean())
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        x = cv2.copyMakeBorder(x, top, side - h - top, left, side - w - left,
                               cv2.BORDER_CONSTANT, value=background)
    if x.shape != (SIDE, SIDE):
        x = cv2.resize(x, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(x, dtype=np.float32).reshape(1, 1, SIDE, SIDE)


def answer(probs):
    """Probabilities [10] -> the response document."""
    probs = [float(p) for p in np.asarray(probs).reshape(-1)]
    best = max(range(len(probs)), key=probs.__getitem__)
    return {"prediction": best, "confidence": probs[best], "probabilities": probs}


def load_model(backend):
    path = os.environ.get("PEER_MODEL", DEFAULT_MODEL)
    threads = int(os.environ.get("PEER_THREADS", "1"))
    return (TorchModel if backend == "torch" else CvModel)(path, threads)


def predict(model, raw_body):
    """Request body bytes -> response document (raises BadRequest)."""
    return answer(model(preprocess(decode_body(raw_body))))
