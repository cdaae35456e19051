"""The two inference backends the Python peers run on the same ONNX file.

Owns: loading a model once per worker and running a float32 blob through it, in OpenCV DNN
(cv2.dnn, the engine the seed used) or eagerly in PyTorch (the weights of the ONNX file
rebuilt as a torch.nn.Module, the way most Python services run a model). Knows nothing of HTTP
or of image decoding: digit_service.py and photo_service.py build the blobs.

The torch rebuild covers the ops of the repository's graphs: the MNIST CNNs written by
model/train.py (Sub/Div/Conv/Relu/MaxPool/Flatten/Gemm/Softmax) and the photo model of
model/nsfw-mobilenetv2 (Transpose NHWC->NCHW, Conv with asymmetric pads, Clip = ReLU6,
Add, AveragePool, Flatten, Gemm, Relu, Softmax). Each node becomes one closure at load time,
so a forward pass is a plain loop of torch calls. Unknown ops are refused at load.

Convolutions call torch.mkldnn_convolution (oneDNN, PyTorch's CPU convolution library)
directly: below batch 16, torch 1.13's F.conv2d sends ungrouped convolutions to its im2col +
GEMM path, which on Debian's torch (BLAS_INFO=generic) ran a MobileNetV2 1x1 convolution 6x
slower than oneDNN (12.6 vs 2.0 ms for 96->24 channels at 56x56, one thread); its own
heuristic picks oneDNN at batch 16 anyway. Same results to 1e-5.
"""

import cv2


class CvModel:
    """The ONNX file through cv2.dnn.readNetFromONNX; blob in, first output out."""

    def __init__(self, path, threads):
        cv2.setNumThreads(threads)
        self.net = cv2.dnn.readNetFromONNX(path)

    def forward(self, blob):
        self.net.setInput(blob)
        return self.net.forward()

    def __call__(self, blob):
        return self.forward(blob)[0]


def _torch_node(torch, F, op, a, at):
    """One ONNX node -> fn(inputs) -> output, with its constant arguments bound now."""
    if op == "Sub":
        return lambda x: x[0] - x[1]
    if op == "Div":
        return lambda x: x[0] / x[1]
    if op == "Add":
        return lambda x: x[0] + x[1]
    if op == "Mul":
        return lambda x: x[0] * x[1]
    if op == "Conv":
        p = list(at.get("pads", [0, 0, 0, 0]))     # ONNX: top, left, bottom, right
        kw = dict(stride=tuple(at.get("strides", [1, 1])),
                  dilation=tuple(at.get("dilations", [1, 1])), groups=at.get("group", 1))
        w, b = a[1], a[2] if len(a) > 2 else None
        if torch.backends.mkldnn.is_available() and w.dtype == torch.float32:
            def conv(x, padding, w=w.contiguous(), b=b, kw=kw):
                return torch.mkldnn_convolution(x.contiguous(), w, b, list(padding),
                                                list(kw["stride"]), list(kw["dilation"]),
                                                kw["groups"])
        else:
            def conv(x, padding, w=w, b=b, kw=kw):
                return F.conv2d(x, w, b, padding=padding, **kw)
        if p[0] == p[2] and p[1] == p[3]:
            return lambda x: conv(x[0], (p[0], p[1]))
        pad = (p[1], p[3], p[0], p[2])             # F.pad: left, right, top, bottom
        return lambda x: conv(F.pad(x[0], pad), (0, 0))
    if op == "Relu":
        return lambda x: F.relu(x[0])
    if op == "Clip":                               # opset 10: min/max are attributes
        lo, hi = at.get("min", float("-inf")), at.get("max", float("inf"))
        if lo == 0.0 and hi == 6.0:
            return lambda x: F.relu6(x[0])
        return lambda x: torch.clamp(x[0], lo, hi)
    if op == "MaxPool":
        p = at.get("pads", [0, 0, 0, 0])
        k = tuple(at["kernel_shape"])
        s = tuple(at.get("strides", k))
        ceil = bool(at.get("ceil_mode", 0))
        return lambda x: F.max_pool2d(x[0], k, s, padding=(p[0], p[1]), ceil_mode=ceil)
    if op == "AveragePool":
        p = at.get("pads", [0, 0, 0, 0])
        k = tuple(at["kernel_shape"])
        s = tuple(at.get("strides", k))
        return lambda x: F.avg_pool2d(x[0], k, s, padding=(p[0], p[1]),
                                      count_include_pad=bool(at.get("count_include_pad", 0)))
    if op == "GlobalAveragePool":
        return lambda x: x[0].mean(dim=(2, 3), keepdim=True)
    if op == "Transpose":
        perm = tuple(at["perm"])
        return lambda x: x[0].permute(perm).contiguous()
    if op == "Flatten":
        axis = at.get("axis", 1)
        return lambda x: torch.flatten(x[0], axis)
    if op == "Reshape":
        return lambda x: x[0].reshape([int(v) for v in x[1]])
    if op == "Gemm":
        w = a[1].t().contiguous() if at.get("transB", 0) else a[1]
        alpha, beta = at.get("alpha", 1.0), at.get("beta", 1.0)
        b = a[2] * beta if len(a) > 2 and a[2] is not None else None
        if alpha == 1.0 and b is not None:
            return lambda x: torch.addmm(b, x[0], w)
        return lambda x: alpha * (x[0] @ w) + (b if b is not None else 0)
    if op == "MatMul":
        return lambda x: x[0] @ x[1]
    if op == "Softmax":
        axis = at.get("axis", -1)
        return lambda x: F.softmax(x[0], dim=axis)
    if op in ("Identity", "Dropout"):              # inference: pass through
        return lambda x: x[0]
    return None


def _torch_module(path):
    """The ONNX graph as a torch.nn.Module whose parameters are the file's initializers."""
    import onnx
    import onnx.numpy_helper
    import torch
    import torch.nn.functional as F

    class OnnxGraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            g = onnx.load(path).graph
            consts = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
                      for t in g.initializer}
            for i, (name, t) in enumerate(consts.items()):
                self.register_buffer(f"w{i}", t)       # state_dict holds every weight
            self.input, self.output = g.input[0].name, g.output[0].name
            self.steps, unknown = [], set()
            for n in g.node:
                at = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
                a = [consts.get(i) for i in n.input]
                fn = _torch_node(torch, F, n.op_type, a, at)
                if fn is None:
                    unknown.add(n.op_type)
                    continue
                # Inputs that are activations are looked up at run time; constants are bound.
                self.steps.append((fn, [None if i in consts else i for i in n.input],
                                   [consts.get(i) for i in n.input], n.output[0]))
            if unknown:
                raise ValueError(f"{path}: ops not supported by the torch peer: "
                                 f"{sorted(unknown)}")

        def forward(self, x):
            env = {self.input: x}
            for fn, names, consts, out in self.steps:
                env[out] = fn([env[n] if n is not None else c for n, c in zip(names, consts)])
            return env[self.output]

    return OnnxGraphModule().eval()


class TorchModel:
    """The same weights run eagerly in PyTorch (model/train.py keeps no .pt file, and the photo
    model comes from a tfjs package: the ONNX file is the one source of the weights)."""

    def __init__(self, path, threads):
        import torch
        torch.set_num_threads(threads)
        self.torch = torch
        self.module = _torch_module(path)

    def _run(self, x):
        return self.module(x)

    def forward(self, blob):
        with self.torch.inference_mode():
            return self.module(self.torch.from_numpy(blob)).numpy()

    def __call__(self, blob):
        return self.forward(blob)[0]
