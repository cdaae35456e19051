#!/usr/bin/python3
"""Independent numpy forward pass of the nsfwjs MobileNetV2 Keras layers-model.

Written straight from the model.json layer list, in NHWC and float64, with Keras/TensorFlow
semantics, and with no BatchNormalization folding, no layout change and no ONNX: it is the
yardstick the converted ONNX model is checked against (verify.py). It shares only the reading of
the npm package (JS-literal parsing, base64, dequantisation) with convert_nsfwjs.py.

Layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D ('same' = TensorFlow SAME: total
padding max((ceil(n/s)-1)*s + k_eff - n, 0), the extra pixel at the bottom/right; 'valid'),
BatchNormalization, ReLU (max_value, negative_slope, threshold), Activation, Add,
AveragePooling2D / MaxPooling2D ('valid'), GlobalAveragePooling2D, Flatten (channels_last
order), Dense, Dropout (identity at inference), Softmax.

Usage as a script: reference_forward.py PACKAGE(.tgz|dir) IMAGE... -> prints the probabilities.
"""
import sys

import numpy as np

from convert_nsfwjs import LABELS, inbound_names, layer_weights, load_nsfwjs


def _tf_same(n, k, s, d):
    ek = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ek - n, 0)
    return total // 2, total - total // 2


def _pad_for(x, cfg, kh, kw, sh, sw, dh, dw):
    if cfg["padding"] == "valid":
        return x
    if cfg["padding"] != "same":
        raise ValueError(f"padding {cfg['padding']!r}")
    pt, pb = _tf_same(x.shape[1], kh, sh, dh)
    pl, pr = _tf_same(x.shape[2], kw, sw, dw)
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))


def _windows(x, kh, kw, sh, sw, dh, dw):
    """Yield (i, j, view) for every kernel tap: view[n, oy, ox, c] = x[n, oy*sh + i*dh, ox*sw + j*dw, c]."""
    H, W = x.shape[1], x.shape[2]
    oh = (H - ((kh - 1) * dh + 1)) // sh + 1
    ow = (W - ((kw - 1) * dw + 1)) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :]


def conv2d(x, kernel, bias, cfg):
    kh, kw, cin, cout = kernel.shape
    (sh, sw), (dh, dw) = cfg["strides"], cfg.get("dilation_rate", [1, 1])
    x = _pad_for(x, cfg, kh, kw, sh, sw, dh, dw)
    out = None
    for i, j, v in _windows(x, kh, kw, sh, sw, dh, dw):
        t = v @ kernel[i, j]                       # [n, oh, ow, cin] @ [cin, cout]
        out = t if out is None else out + t
    return out + bias if bias is not None else out


def depthwise_conv2d(x, kernel, bias, cfg):
    kh, kw, cin, mult = kernel.shape
    (sh, sw), (dh, dw) = cfg["strides"], cfg.get("dilation_rate", [1, 1])
    x = _pad_for(x, cfg, kh, kw, sh, sw, dh, dw)
    out = None
    for i, j, v in _windows(x, kh, kw, sh, sw, dh, dw):
        t = v[..., :, None] * kernel[i, j]         # [n, oh, ow, cin, mult]
        out = t if out is None else out + t
    out = out.reshape(out.shape[:3] + (cin * mult,))   # channel c*mult + m, as TensorFlow
    return out + bias if bias is not None else out


def activation(x, name):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.clip(x, 0, 6)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    raise ValueError(f"activation {name!r}")


def forward(topology, weights, x, dtype=np.float64):
    """Run the Keras model config ``topology`` on NHWC input ``x``; returns the output layer's array."""
    vals = {}
    layers = topology["layers"]
    for layer in layers:
        name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
        ins = [vals[s] for s in inbound_names(layer)]
        w = {k: v.astype(dtype) for k, v in layer_weights(weights, name).items()}
        if cls == "InputLayer":
            y = np.asarray(x, dtype=dtype)
            want = tuple(cfg["batch_input_shape"][1:])
            if y.shape[1:] != want:
                raise ValueError(f"input shape {y.shape[1:]} != {want}")
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            y = np.pad(ins[0], ((0, 0), (t, b), (l, r), (0, 0)))
        elif cls == "Conv2D":
            y = activation(conv2d(ins[0], w["kernel"], w.get("bias") if cfg.get("use_bias") else None, cfg),
                           cfg.get("activation"))
        elif cls == "DepthwiseConv2D":
            y = activation(depthwise_conv2d(ins[0], w["depthwise_kernel"],
                                            w.get("bias") if cfg.get("use_bias") else None, cfg),
                           cfg.get("activation"))
        elif cls == "BatchNormalization":
            c = ins[0].shape[-1]
            gamma = w["gamma"] if cfg.get("scale", True) else np.ones(c, dtype)
            beta = w["beta"] if cfg.get("center", True) else np.zeros(c, dtype)
            y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * gamma + beta
        elif cls == "ReLU":
            v = ins[0]
            th = cfg.get("threshold", 0) or 0
            ns = cfg.get("negative_slope", 0) or 0
            y = np.where(v >= th, v, ns * (v - th))
            if cfg.get("max_value") is not None:
                y = np.minimum(y, cfg["max_value"])
        elif cls == "Activation":
            y = activation(ins[0], cfg["activation"])
        elif cls == "Softmax":
            y = activation(ins[0], "softmax")
        elif cls == "Add":
            y = ins[0]
            for o in ins[1:]:
                y = y + o
        elif cls in ("AveragePooling2D", "MaxPooling2D"):
            if cfg["padding"] != "valid":
                raise ValueError(f"{name}: pooling padding {cfg['padding']}")
            ph, pw = cfg["pool_size"]
            sh, sw = cfg.get("strides") or cfg["pool_size"]
            taps = [v for _, _, v in _windows(ins[0], ph, pw, sh, sw, 1, 1)]
            y = np.mean(taps, axis=0) if cls == "AveragePooling2D" else np.max(taps, axis=0)
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        elif cls == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)     # NHWC order, as Keras channels_last
        elif cls == "Dense":
            y = activation(ins[0] @ w["kernel"] + (w["bias"] if cfg.get("use_bias", True) else 0),
                           cfg.get("activation"))
        elif cls == "Dropout":
            y = ins[0]
        else:
            raise ValueError(f"layer {name}: class {cls} not supported")
        vals[name] = y
    outs = [o[0] for o in topology["output_layers"]]
    return vals[outs[0]]


def main(argv):
    import cv2
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    _, topology, weights = load_nsfwjs(argv[0])
    for path in argv[1:]:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        x = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (224, 224), interpolation=cv2.INTER_AREA)
        p = forward(topology, weights, (x.astype(np.float32) / 255)[None])[0]
        print(path, " ".join(f"{l}={v:.4f}" for l, v in zip(LABELS, p)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
