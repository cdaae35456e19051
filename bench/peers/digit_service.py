"""The request path the Python peers share: JSON body -> base64 -> PNG -> blob -> model -> JSON.

Owns: the preprocessing copied from predictd (so every stack answers the same digit with the
same tensor), and the two model backends the peers run: OpenCV DNN (the model predictd
serves, loaded from the same ONNX file) and PyTorch (the same weights, run eagerly in the
training framework). Does not own HTTP: flask_app.py, falcon_app.py and torch_app.py wrap it.

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


class CvModel:
    """The ONNX file through cv2.dnn, as predictd runs it."""

    def __init__(self, path, threads):
        cv2.setNumThreads(threads)
        self.net = cv2.dnn.readNetFromONNX(path)

    def __call__(self, blob):
        self.net.setInput(blob)
        return self.net.forward()[0]


class TorchModel:
    """The same weights run eagerly in PyTorch (the training framework).

    The ONNX graph written by model/train.py is a plain chain of Sub/Div/Conv/Relu/MaxPool/
    Flatten/Gemm/Softmax (BatchNorm folded into Conv by the export); this rebuilds it as torch
    tensors and runs it node by node with torch.nn.functional. train.py keeps no .pt file."""

    def __init__(self, path, threads):
        import onnx
        import onnx.numpy_helper
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(threads)
        self.torch, self.F = torch, F
        g = onnx.load(path).graph
        self.consts = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
                       for t in g.initializer}
        self.nodes = [(n.op_type, list(n.input), list(n.output),
                       {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
                      for n in g.node]
        self.input, self.output = g.input[0].name, g.output[0].name
        known = {"Sub", "Div", "Add", "Mul", "Conv", "Relu", "MaxPool", "Flatten", "Reshape",
                 "Gemm", "MatMul", "Softmax", "GlobalAveragePool", "Identity", "Dropout"}
        unknown = {op for op, *_ in self.nodes} - known
        if unknown:
            raise ValueError(f"{path}: ops not supported by the torch peer: {sorted(unknown)}")

    def _run(self, x):
        F, torch = self.F, self.torch
        env = dict(self.consts)
        env[self.input] = x
        for op, ins, outs, at in self.nodes:
            a = [env[i] if i else None for i in ins]
            if op == "Sub":
                y = a[0] - a[1]
            elif op == "Div":
                y = a[0] / a[1]
            elif op == "Add":
                y = a[0] + a[1]
            elif op == "Mul":
                y = a[0] * a[1]
            elif op == "Conv":
                p = at.get("pads", [0, 0, 0, 0])
                y = F.conv2d(a[0], a[1], a[2] if len(a) > 2 else None,
                             stride=tuple(at.get("strides", [1, 1])), padding=(p[0], p[1]),
                             dilation=tuple(at.get("dilations", [1, 1])),
                             groups=at.get("group", 1))
            elif op == "Relu":
                y = F.relu(a[0])
            elif op == "MaxPool":
                p = at.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(a[0], tuple(at["kernel_shape"]),
                                 tuple(at.get("strides", at["kernel_shape"])),
                                 padding=(p[0], p[1]), ceil_mode=bool(at.get("ceil_mode", 0)))
            elif op == "Flatten":
                y = torch.flatten(a[0], at.get("axis", 1))
            elif op == "Reshape":
                y = a[0].reshape([int(v) for v in a[1]])
            elif op == "Gemm":
                w = a[1].t() if at.get("transB", 0) else a[1]
                y = at.get("alpha", 1.0) * (a[0] @ w)
                if len(a) > 2 and a[2] is not None:
                    y = y + at.get("beta", 1.0) * a[2]
            elif op == "MatMul":
                y = a[0] @ a[1]
            elif op == "Softmax":
                y = F.softmax(a[0], dim=at.get("axis", -1))
            elif op == "GlobalAveragePool":
                y = a[0].mean(dim=(2, 3), keepdim=True)
            else:  # Identity, Dropout (inference)
                y = a[0]
            env[outs[0]] = y
        return env[self.output]

    def __call__(self, blob):
        with self.torch.inference_mode():
            return self._run(self.torch.from_numpy(blob)).numpy()[0]


def load_model(backend):
    path = os.environ.get("PEER_MODEL", DEFAULT_MODEL)
    threads = int(os.environ.get("PEER_THREADS", "1"))
    return (TorchModel if backend == "torch" else CvModel)(path, threads)


def predict(model, raw_body):
    """Request body bytes -> response document (raises BadRequest)."""
    return answer(model(preprocess(decode_body(raw_body))))
