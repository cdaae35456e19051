#!/usr/bin/python3
"""Convert the MobileNetV2 layers-model inside npm ``nsfwjs`` to ONNX (numpy + python3-onnx only).

The npm tarball carries the model as two browserify bundles (not JSON files):

  package/dist/models/mobilenet_v2/model.min.js           -> a JS object literal: the tfjs
      ``model.json`` ({modelTopology: <Keras model config>, weightsManifest: [...]}),
  package/dist/models/mobilenet_v2/group1-shard1of1.min.js -> a JS string: the weight shard,
      base64, every tensor uint8-quantised (value = q * scale + min, per the manifest).

This script reads them (from the .tgz directly or from an unpacked package directory), parses the
JS literals with a small parser of its own (no node needed), decodes and dequantises the weights
exactly as tfjs does (float64 arithmetic, rounded to float32), and writes an ONNX graph:

  input          float32 [N,224,224,3]  NHWC, RGB, values in [0,1]   (dynamic N)
  Transpose -> NCHW; Conv (BatchNormalization folded in, ZeroPadding2D folded into the pads),
  Clip(0,6) for ReLU(max_value=6), Add, AveragePool, Flatten, Gemm (+Relu), Softmax
  probabilities  float32 [N,5]          Drawing, Hentai, Neutral, Porn, Sexy

The output file is byte-for-byte deterministic for a given package (fixed IR version, producer
and metadata; elementwise numpy arithmetic only), so its sha256 can be pinned.

``load_nsfwjs()`` is also used by reference_forward.py (the independent numpy forward pass): the
two share the reading of the package, not the graph construction.

Usage: convert_nsfwjs.py PACKAGE(.tgz|dir) OUTPUT.onnx [--opset N] [--model mobilenet_v2]
"""
import argparse
import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile

import numpy as np

MODEL_SUBDIR = "package/dist/models/{model}"
LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]  # dist/cjs/nsfw_classes.js, in order
DEFAULT_OPSET = 10   # OpenCV DNN 4.6 reads Clip (ReLU6) only with min/max attributes (opset < 11)
PRODUCER = "predictd model/nsfw-mobilenetv2/convert_nsfwjs.py"
PRODUCER_VERSION = "1"


# --------------------------------------------------------------------------- JS literal parser
class JSLiteralParser:
    """Parses one JavaScript value literal as minifiers write it: objects with bare or quoted
    keys, arrays, strings, numbers (``.5``, ``-0``, ``1e-3``), ``!0``/``!1`` (true/false),
    ``null``, ``true``, ``false``, ``void 0``. Nothing else (no expressions)."""

    _number = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    _ident = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
    _dq = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
    _sq = re.compile(r"'((?:[^'\\]|\\.)*)'", re.S)

    def __init__(self, text, pos=0):
        self.s = text
        self.i = pos

    def error(self, what):
        raise ValueError(f"JS literal: {what} at offset {self.i}: {self.s[self.i:self.i + 40]!r}")

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def value(self):
        self.ws()
        c = self.s[self.i:self.i + 1]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c in "\"'":
            return self.string()
        if c == "!":
            if self.s[self.i + 1] in "01":
                v = self.s[self.i + 1] == "0"   # !0 === true, !1 === false
                self.i += 2
                return v
            self.error("unsupported '!' expression")
        m = self._number.match(self.s, self.i)
        if m:
            self.i = m.end()
            t = m.group(0)
            if re.fullmatch(r"-?\d+", t) and t != "-0":
                return int(t)
            return float(t)   # float('-0') == -0.0, float('.5') == 0.5: same doubles as JS
        m = self._ident.match(self.s, self.i)
        if m:
            word = m.group(0)
            self.i = m.end()
            if word == "null":
                return None
            if word in ("true", "false"):
                return word == "true"
            if word == "void":
                self.ws()
                if self.s[self.i] == "0":
                    self.i += 1
                    return None
            if word in ("NaN", "Infinity"):
                return float(word.lower() if word == "NaN" else "inf")
            self.error(f"unsupported identifier {word!r}")
        self.error("unexpected character")

    def string(self):
        m = (self._dq if self.s[self.i] == '"' else self._sq).match(self.s, self.i)
        if not m:
            self.error("unterminated string")
        self.i = m.end()
        raw = m.group(1)
        if "\\" not in raw:
            return raw
        simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}

        def unescape(m):
            e = m.group(1)
            if e[0] in "ux":
                return chr(int(e[1:], 16))
            return simple.get(e, e)
        return re.sub(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", unescape, raw, flags=re.S)

    def key(self):
        self.ws()
        c = self.s[self.i]
        if c in "\"'":
            return self.string()
        m = self._ident.match(self.s, self.i) or self._number.match(self.s, self.i)
        if not m:
            self.error("bad object key")
        self.i = m.end()
        return m.group(0)

    def obj(self):
        self.i += 1
        out = {}
        self.ws()
        if self.s[self.i] == "}":
            self.i += 1
            return out
        while True:
            k = self.key()
            self.ws()
            if self.s[self.i] != ":":
                self.error("expected ':'")
            self.i += 1
            out[k] = self.value()
            self.ws()
            c = self.s[self.i]
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                self.error("expected ',' or '}'")

    def arr(self):
        self.i += 1
        out = []
        self.ws()
        if self.s[self.i] == "]":
            self.i += 1
            return out
        while True:
            out.append(self.value())
            self.ws()
            c = self.s[self.i]
            self.i += 1
            if c == "]":
                return out
            if c != ",":
                self.error("expected ',' or ']'")


_BUNDLE_ENTRY = re.compile(r"\{1:\[function\((\w+),(\w+),(\w+)\)\{\2\.exports=")


def parse_bundle_export(text, what):
    """Return the value a browserify bundle's module 1 assigns to module.exports."""
    m = _BUNDLE_ENTRY.search(text)
    if not m:
        raise ValueError(f"{what}: no browserify module 1 with 'module.exports=' found")
    p = JSLiteralParser(text, m.end())
    v = p.value()
    p.ws()
    if text[p.i:p.i + 1] != "}":
        raise ValueError(f"{what}: export is not a plain literal (offset {p.i})")
    return v


# --------------------------------------------------------------------------- package reading
class _Source:
    """Files of the npm package, from the .tgz or from an unpacked directory."""

    def __init__(self, path):
        self.path = path
        self.tar = None
        if os.path.isdir(path):
            root = path
            if os.path.isdir(os.path.join(path, "package")):
                root = path
            elif os.path.basename(os.path.normpath(path)) == "package":
                root = os.path.dirname(os.path.normpath(path))
            self.root = root
        else:
            self.tar = tarfile.open(path, "r:gz")

    def read(self, rel):
        if self.tar is not None:
            f = self.tar.extractfile(rel)
            if f is None:
                raise FileNotFoundError(rel)
            return f.read()
        with open(os.path.join(self.root, rel), "rb") as f:
            return f.read()


_QUANT_DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
_PLAIN_DTYPES = {"float32": np.float32, "int32": np.int32}


def load_nsfwjs(path, model="mobilenet_v2"):
    """Read the nsfwjs package at ``path`` (npm .tgz or unpacked dir).

    Returns (info, topology, weights): info = {'name','version','license'} from package.json,
    topology = the Keras model config (modelTopology.model_config), weights = {name: float32
    ndarray} dequantised like tfjs (q * scale + min in float64, then float32)."""
    src = _Source(path)
    pkg = json.loads(src.read("package/package.json"))
    info = {k: pkg.get(k) for k in ("name", "version", "license")}
    base = MODEL_SUBDIR.format(model=model)
    mj = parse_bundle_export(src.read(f"{base}/model.min.js").decode("utf-8"), "model.min.js")
    if mj.get("format") not in (None, "layers-model"):
        raise ValueError(f"{model}: format {mj.get('format')!r}, expected a layers-model")
    topology = mj["modelTopology"]
    if "model_config" in topology:      # {keras_version, backend, model_config: {class_name, config}}
        topology = topology["model_config"]
    if topology.get("class_name") not in ("Model", "Functional"):
        raise ValueError(f"{model}: Keras class {topology.get('class_name')!r}, expected a functional Model")
    topology = topology["config"]

    weights = {}
    for group in mj["weightsManifest"]:
        buf = b"".join(
            base64.b64decode(parse_bundle_export(
                src.read(f"{base}/{p}.min.js").decode("ascii"), f"{p}.min.js"), validate=True)
            for p in group["paths"])
        off = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape, dtype=np.int64))
            q = spec.get("quantization")
            if q:
                qdt = np.dtype(_QUANT_DTYPES[q["dtype"]]).newbyteorder("<")
                raw = np.frombuffer(buf, dtype=qdt, count=count, offset=off)
                off += count * qdt.itemsize
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    arr = (raw.astype(np.float64) * float(q["scale"]) + float(q["min"])).astype(np.float32)
            else:
                dt = np.dtype(_PLAIN_DTYPES[spec["dtype"]]).newbyteorder("<")
                arr = np.frombuffer(buf, dtype=dt, count=count, offset=off).astype(dt.newbyteorder("="))
                off += count * dt.itemsize
            if spec["name"] in weights:
                raise ValueError(f"duplicate weight {spec['name']}")
            weights[spec["name"]] = arr.reshape(shape)
        if off != len(buf):
            raise ValueError(f"weight group uses {off} bytes of {len(buf)}")
    return info, topology, weights


def layer_weights(weights, layer_name):
    """{short name: array} for one Keras layer ('Conv1/kernel' -> 'kernel')."""
    out = {}
    for k, v in weights.items():
        if k.startswith(layer_name + "/"):
            short = k[len(layer_name) + 1:]
            short = short.split(":")[0]
            out[short] = v
    return out


def inbound_names(layer):
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) != 1:
        raise ValueError(f"{layer['name']}: shared layers are not supported")
    return [n[0] for n in nodes[0]]


def same_pads(size, k, s, d=1):
    """TensorFlow 'SAME' padding for one spatial dim: (before, after, out)."""
    ek = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + ek - size, 0)
    return total // 2, total - total // 2, out


# --------------------------------------------------------------------------- ONNX building
def build_onnx(info, topology, weights, opset=DEFAULT_OPSET, model_name="mobilenet_v2"):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = topology["layers"]
    by_name = {l["name"]: l for l in layers}
    consumers = {l["name"]: [] for l in layers}
    for l in layers:
        for src in inbound_names(l):
            consumers[src].append(l["name"])
    out_layers = [o[0] for o in topology["output_layers"]]
    in_layers = [i[0] for i in topology["input_layers"]]
    if len(in_layers) != 1 or len(out_layers) != 1:
        raise ValueError("expected one input and one output layer")

    nodes, inits = [], []
    used_weights = set()
    tensor = {}     # keras layer name -> onnx tensor name
    shape = {}      # keras layer name -> (H, W, C) or (F,)
    skip = set()    # layers folded into another node
    pending_pad = {}  # conv layer name -> (top, bottom, left, right) from a folded ZeroPadding2D

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def w(layer, short):
        used_weights.add(f"{layer}/{short}")
        return layer_weights(weights, layer)[short]

    def activation(name, act, x):
        if act in (None, "linear"):
            return x
        if act == "relu":
            nodes.append(helper.make_node("Relu", [x], [name + "/relu"], name=name + "/relu"))
            return name + "/relu"
        if act == "relu6":
            return clip(name + "/relu6", x, 0.0, 6.0)
        if act == "softmax":
            nodes.append(helper.make_node("Softmax", [x], [name + "/softmax"], name=name + "/softmax",
                                          axis=1 if opset < 13 else -1))
            return name + "/softmax"
        raise ValueError(f"{name}: activation {act!r} not supported")

    def clip(name, x, lo, hi):
        if opset < 11:
            nodes.append(helper.make_node("Clip", [x], [name], name=name, min=lo, max=hi))
        else:
            lo_n, hi_n = f"const/clip_{lo:g}", f"const/clip_{hi:g}"
            for n, v in ((lo_n, lo), (hi_n, hi)):
                if not any(t.name == n for t in inits):
                    init(n, np.array(v, dtype=np.float32))
            nodes.append(helper.make_node("Clip", [x, lo_n, hi_n], [name], name=name))
        return name

    for layer in layers:
        name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
        if name in skip:
            continue
        srcs = inbound_names(layer)
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"{name}: data_format {cfg['data_format']} not supported")

        if cls == "InputLayer":
            bshape = cfg["batch_input_shape"]
            if len(bshape) != 4 or None in bshape[1:]:
                raise ValueError(f"input shape {bshape} not supported")
            shape[name] = tuple(bshape[1:])
            nodes.append(helper.make_node("Transpose", ["input"], [name + "/nchw"], name=name + "/nchw",
                                          perm=[0, 3, 1, 2]))
            tensor[name] = name + "/nchw"
            in_shape = bshape
            continue

        x = tensor[srcs[0]] if srcs else None
        ish = shape[srcs[0]] if srcs else None

        if cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            nxt = consumers[name]
            if len(nxt) == 1 and by_name[nxt[0]]["class_name"] in ("Conv2D", "DepthwiseConv2D") \
                    and by_name[nxt[0]]["config"]["padding"] == "valid":
                pending_pad[nxt[0]] = (t, b, l, r)
                tensor[name] = x
            else:
                pads = [0, 0, t, l, 0, 0, b, r]
                if opset < 11:
                    nodes.append(helper.make_node("Pad", [x], [name], name=name, pads=pads, mode="constant"))
                else:
                    nodes.append(helper.make_node("Pad", [x, init(name + "/pads", np.array(pads, np.int64))],
                                                  [name], name=name, mode="constant"))
                tensor[name] = name
            shape[name] = (ish[0] + t + b, ish[1] + l + r, ish[2])
            continue

        if cls in ("Conv2D", "DepthwiseConv2D"):
            kh, kw = cfg["kernel_size"]
            sh, sw = cfg["strides"]
            dh, dw = cfg.get("dilation_rate", [1, 1])
            cin = ish[2]
            if cls == "Conv2D":
                k = w(name, "kernel").astype(np.float64)          # [kh,kw,cin,cout]
                kernel = k.transpose(3, 2, 0, 1)                 # [cout,cin,kh,kw]
                group = 1
            else:
                k = w(name, "depthwise_kernel").astype(np.float64)  # [kh,kw,cin,mult]
                mult = k.shape[3]
                kernel = k.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None, :, :]
                group = cin
            cout = kernel.shape[0]
            bias = w(name, "bias").astype(np.float64) if cfg.get("use_bias") else np.zeros(cout)
            # input spatial size before any folded zero padding
            t, b, l, r = pending_pad.pop(name, (0, 0, 0, 0))
            H, W = ish[0] - t - b, ish[1] - l - r
            if cfg["padding"] == "same":
                pt, pb, oh = same_pads(H, kh, sh, dh)
                pl, pr, ow = same_pads(W, kw, sw, dw)
            elif cfg["padding"] == "valid":
                pt, pb, pl, pr = t, b, l, r
                oh = (H + t + b - ((kh - 1) * dh + 1)) // sh + 1
                ow = (W + l + r - ((kw - 1) * dw + 1)) // sw + 1
            else:
                raise ValueError(f"{name}: padding {cfg['padding']}")
            if cfg["padding"] == "same" and (t or b or l or r):
                raise ValueError(f"{name}: zero padding folded into a 'same' conv")
            out = name
            act = cfg.get("activation", "linear")
            nxt = consumers[name]
            if act in (None, "linear") and len(nxt) == 1 and by_name[nxt[0]]["class_name"] == "BatchNormalization":
                bn = by_name[nxt[0]]
                bcfg = bn["config"]
                if bcfg.get("axis", -1) not in (-1, 3, [3], [-1]):
                    raise ValueError(f"{bn['name']}: axis {bcfg['axis']}")
                bw = layer_weights(weights, bn["name"])
                used_weights.update(f"{bn['name']}/{s}" for s in bw)
                gamma = bw["gamma"].astype(np.float64) if bcfg.get("scale", True) else np.ones(cout)
                beta = bw["beta"].astype(np.float64) if bcfg.get("center", True) else np.zeros(cout)
                mean = bw["moving_mean"].astype(np.float64)
                var = bw["moving_variance"].astype(np.float64)
                f = gamma / np.sqrt(var + float(bcfg["epsilon"]))
                kernel = kernel * f[:, None, None, None]
                bias = (bias - mean) * f + beta
                skip.add(bn["name"])
                tensor[bn["name"]] = out
                shape[bn["name"]] = (oh, ow, cout)
                post = bn["name"]
            else:
                post = name
            ins = [x, init(name + "/W", kernel.astype(np.float32)), init(name + "/B", bias.astype(np.float32))]
            nodes.append(helper.make_node("Conv", ins, [out], name=name, kernel_shape=[kh, kw],
                                          strides=[sh, sw], dilations=[dh, dw], group=group,
                                          pads=[pt, pl, pb, pr]))
            res = activation(name, act, out)
            tensor[name] = res
            shape[name] = (oh, ow, cout)
            if post != name:
                tensor[post] = res
            continue

        if cls == "BatchNormalization":   # not foldable: emit it
            bw = layer_weights(weights, name)
            used_weights.update(f"{name}/{s}" for s in bw)
            c = ish[-1]
            gamma = bw["gamma"] if cfg.get("scale", True) else np.ones(c, np.float32)
            beta = bw["beta"] if cfg.get("center", True) else np.zeros(c, np.float32)
            ins = [x] + [init(f"{name}/{s}", a.astype(np.float32)) for s, a in
                         (("gamma", gamma), ("beta", beta), ("mean", bw["moving_mean"]), ("var", bw["moving_variance"]))]
            nodes.append(helper.make_node("BatchNormalization", ins, [name], name=name, epsilon=float(cfg["epsilon"])))
            tensor[name], shape[name] = name, ish
            continue

        if cls == "ReLU":
            mv, ns, th = cfg.get("max_value"), cfg.get("negative_slope", 0), cfg.get("threshold", 0)
            if ns or th:
                raise ValueError(f"{name}: ReLU negative_slope/threshold not supported")
            if mv is None:
                nodes.append(helper.make_node("Relu", [x], [name], name=name))
            else:
                clip(name, x, 0.0, float(mv))
            tensor[name], shape[name] = name, ish
            continue

        if cls == "Activation":
            tensor[name], shape[name] = activation(name, cfg["activation"], x), ish
            continue

        if cls == "Add":
            ins = [tensor[s] for s in srcs]
            acc = ins[0]
            for j, other in enumerate(ins[1:]):
                o = name if j == len(ins) - 2 else f"{name}/{j}"
                nodes.append(helper.make_node("Add", [acc, other], [o], name=o))
                acc = o
            tensor[name], shape[name] = name, ish
            continue

        if cls in ("AveragePooling2D", "MaxPooling2D", "GlobalAveragePooling2D"):
            if cls == "GlobalAveragePooling2D":
                nodes.append(helper.make_node("GlobalAveragePool", [x], [name + "/4d"], name=name))
                nodes.append(helper.make_node("Flatten", [name + "/4d"], [name], name=name + "/flatten", axis=1))
                tensor[name], shape[name] = name, (ish[2],)
                continue
            if cfg["padding"] != "valid":
                raise ValueError(f"{name}: pooling padding {cfg['padding']} not supported")
            ph, pw = cfg["pool_size"]
            sh, sw = cfg.get("strides") or cfg["pool_size"]
            op = "AveragePool" if cls == "AveragePooling2D" else "MaxPool"
            nodes.append(helper.make_node(op, [x], [name], name=name, kernel_shape=[ph, pw], strides=[sh, sw]))
            tensor[name] = name
            shape[name] = ((ish[0] - ph) // sh + 1, (ish[1] - pw) // sw + 1, ish[2])
            continue

        if cls == "Flatten":
            if len(ish) == 3 and (ish[0], ish[1]) != (1, 1):
                # Keras flattens channels_last (H, W, C): go back to NHWC first
                nodes.append(helper.make_node("Transpose", [x], [name + "/nhwc"], name=name + "/nhwc", perm=[0, 2, 3, 1]))
                x = name + "/nhwc"
            nodes.append(helper.make_node("Flatten", [x], [name], name=name, axis=1))
            tensor[name], shape[name] = name, (int(np.prod(ish)),)
            continue

        if cls == "Dropout":
            tensor[name], shape[name] = x, ish     # identity at inference
            continue

        if cls == "Dense":
            if len(ish) != 1:
                raise ValueError(f"{name}: Dense on a rank>2 tensor not supported")
            kern = w(name, "kernel")
            bias = w(name, "bias") if cfg.get("use_bias", True) else np.zeros(kern.shape[1], np.float32)
            # weight stored [out, in] with transB=1 (the layout OpenCV DNN 4.6 expects for Gemm)
            nodes.append(helper.make_node("Gemm", [x, init(name + "/W", np.ascontiguousarray(kern.T)),
                                                   init(name + "/B", bias)],
                                          [name + "/gemm"], name=name, transB=1))
            tensor[name] = activation(name, cfg.get("activation"), name + "/gemm")
            shape[name] = (kern.shape[1],)
            continue

        raise ValueError(f"layer {name}: class {cls} not supported")

    unused = sorted(set(weights) - used_weights)
    if unused:
        raise ValueError(f"weights not used by the graph: {unused[:5]}...")

    # name the model output 'probabilities'
    final = tensor[out_layers[0]]
    for n in nodes:
        n.output[:] = ["probabilities" if o == final else o for o in n.output]
        n.input[:] = ["probabilities" if i == final else i for i in n.input]
    n_classes = shape[out_layers[0]][0]
    if n_classes != len(LABELS):
        raise ValueError(f"model has {n_classes} outputs, expected {len(LABELS)}")

    graph = helper.make_graph(
        nodes, f"nsfwjs_{model_name}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", in_shape[1], in_shape[2], in_shape[3]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes])],
        initializer=inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)],
        producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
        doc_string=(f"npm {info['name']}@{info['version']} ({info['license']}) dist/models/{model_name}, "
                    "Keras MobileNetV2 layers-model converted to ONNX; BatchNormalization folded into Conv. "
                    "Input NHWC RGB float32 in [0,1] (pixels / 255), 224x224. Output softmax over labels."))
    # IR version pinned so the bytes do not depend on the installed onnx version
    model.ir_version = 5 if opset <= 10 else (6 if opset == 11 else (7 if opset <= 12 else 8))
    helper.set_model_props(model, {
        "source": f"npm {info['name']}@{info['version']} dist/models/{model_name}",
        "license": str(info["license"]),
        "labels": ",".join(LABELS),
        "preprocessing": "RGB, resize to 224x224, float32 = pixel / 255, NHWC",
    })
    onnx.checker.check_model(model)
    return model


def count_params(weights):
    return int(sum(v.size for v in weights.values()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package", help="nsfwjs npm tarball (.tgz) or unpacked package directory")
    ap.add_argument("output", help="ONNX file to write")
    ap.add_argument("--model", default="mobilenet_v2", help="model directory under dist/models")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    a = ap.parse_args(argv)
    info, topology, weights = load_nsfwjs(a.package, a.model)
    model = build_onnx(info, topology, weights, opset=a.opset, model_name=a.model)
    data = model.SerializeToString(deterministic=True)
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, a.output)
    print(f"{a.output}: {info['name']}@{info['version']} {a.model}, {len(topology['layers'])} Keras layers, "
          f"{count_params(weights)} parameters, {len(model.graph.node)} ONNX nodes, opset {a.opset}, "
          f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}", file=sys.stderr)


if __name__ == "__main__":
    main()
