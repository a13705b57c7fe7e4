#!/usr/bin/env python3
"""torch_peer.py PLAN OUT - PyTorch's times on cuda for the cases of `deepkern bench --plan`.

Reads the plan (case id, op, dtype, out dtype, shape; tab-separated), runs the same op with the
same semantics in PyTorch eager on cuda:0, checks each result against float64 on the GPU (a
wrong result is reported as "peer wrong", not timed), times it with CUDA events over rotating inputs
(several times the L2 size together), and writes OUT for `deepkern bench --peer-times OUT`:
case id, peer, median, p10, p90 in seconds.
"""
import math
import os
import statistics
import sys

import torch

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
# f32 means f32 here as in deepkern: no TF32 in cuBLAS or cuDNN (cuDNN's convolutions default to
# it) except in the "_tf32" cases (Tf32Op), which set both, as deepkern's DeepKern.setAllowTf32
TF32_SUFFIX = "_tf32"
TF32_TOL = 2e-3  # TF32's 11 significant bits, summed; the peer's own rounding mode is its business


def allow_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


allow_tf32(False)
F = torch.nn.functional
EPS = 1e-5  # as RowOp
TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def activation_table():
    """activations.tsv (beside this script in the pack, else in the source tree): what each deepkern
    activation is in PyTorch, the one table the Java tests and cpu peer read too. Gives three dicts,
    name -> callable: the forward act(x), its out= form (x, y) and its backward into y (g, x, y)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "activations.tsv"),
                 os.path.join(here, "../../java/torch/src/main/resources/org/deepkern/torch/activations.tsv")):
        if os.path.exists(path):
            break
    forward, forward_out, backward = {}, {}, {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, fwd, out, bwd = (line.rstrip("\n").split("\t") + ["", "", ""])[:4]
            forward[name] = table_expression(fwd, lambda x: {"x": x, "alpha": 0.0, "beta": 0.0})
            if out:
                forward_out[name] = table_expression(out, lambda x, y: {"x": x, "y": y, "alpha": 0.0, "beta": 0.0})
            if bwd:
                backward[name] = table_expression(bwd, lambda g, x, y: {"g": g, "x": x, "y": y})
    return forward, forward_out, backward


class AtenNames(dict):
    """A table expression's names: its variables, and every other name an aten op."""

    def __missing__(self, name):
        return aten(name)


_ATEN = {}


def aten(name):
    """torch.ops.aten.<name>; called with out=y, the overload whose one out argument takes y (found
    on the first call, then kept, so a timed call pays no search)."""
    if name in _ATEN:
        return _ATEN[name]
    packet = getattr(torch.ops.aten, name)
    chosen = []

    def call(*args, out=None, **kwargs):
        if out is None:
            return packet(*args, **kwargs)
        if chosen:
            return chosen[0][0](*args, **kwargs, **{chosen[0][1]: out})
        for overload in packet.overloads():
            op = getattr(packet, overload)
            outs = [a.name for a in op._schema.arguments if a.is_out]
            if len(outs) != 1:
                continue
            try:
                result = op(*args, **kwargs, **{outs[0]: out})
            except (RuntimeError, TypeError):
                continue
            chosen.append((op, outs[0]))
            return result
        raise ValueError(f"aten.{name} has no out= overload taking {args} {kwargs}")

    _ATEN[name] = call
    return call


def table_expression(text, bind):
    """A callable evaluating one table expression, its variables bound by bind(*args)."""
    code = compile(text, "activations.tsv", "eval")

    def run(*args):
        result = eval(code, {"__builtins__": {}}, AtenNames(bind(*args)))
        return result.to(args[0].dtype) if result.dtype == torch.bool else result
    return run


# the forward (the float64 reference's act), the out= forms (so no extra copy is timed) and
# torch's own backward kernels (gradOut, x, grad_in)
ACTS, ACT_OUT, ACT_BWD = activation_table()


def autograd_ref(fn, args, grad_out=None):
    """fn's value in float64, or with grad_out its gradients with respect to every arg."""
    args = [a.double().requires_grad_() for a in args]
    out = fn(*args)
    if grad_out is None:
        return [out.detach()]
    return list(torch.autograd.grad(out, args, grad_out.double()))


def swiglu(gate, up):
    return torch.nn.functional.silu(gate) * up


class Moments:
    """A random output's check: standardize(xs, ys) must look like N(0, 1) samples."""

    def __init__(self, standardize):
        self.standardize = standardize


AB_T, AB_PREV = 0.5, 0.6  # as DiffusionStepOp


def diffusion_step(op, shape):
    """The diffusers formula in eager ops: x0 from eps, then DDIM's update or DDPM's posterior mean
    plus sigma * randn_like; the reference is the mean (DDPM's noise is judged by its moments)."""
    beta, alpha = 1 - AB_T / AB_PREV, AB_T / AB_PREV
    c0, ct = AB_PREV ** 0.5 * beta / (1 - AB_T), alpha ** 0.5 * (1 - AB_PREV) / (1 - AB_T)
    sigma = ((1 - AB_PREV) / (1 - AB_T) * beta) ** 0.5
    noisy = op == "ddpm_step"

    def mean(x, eps):
        x0 = (x - (1 - AB_T) ** 0.5 * eps) / AB_T ** 0.5
        return c0 * x0 + ct * x if noisy else AB_PREV ** 0.5 * x0 + (1 - AB_PREV) ** 0.5 * eps

    def call(xs, ys):
        m = mean(xs[0], xs[1])
        torch.add(m, torch.randn_like(xs[0]), alpha=sigma, out=ys[0]) if noisy else ys[0].copy_(m)

    if noisy:
        ref = Moments(lambda xs, ys: (ys[0].double() - mean(xs[0].double(), xs[1].double())) / sigma)
    else:
        ref = lambda xs: [mean(xs[0].double(), xs[1].double())]
    return [shape, shape], [shape], call, ref


def row_op(op, shape):
    """softmax / log_softmax (out= forms) and layer_norm / rms_norm over the last dim of x [rows,
    hidden], the norms with weight (and bias) [hidden] and no out= form: the result replaces ys[0]."""
    hidden = shape[-1]
    params = {"layer_norm": 2, "rms_norm": 1}.get(op, 0)
    fn = {
        "softmax": lambda x: F.softmax(x, -1),
        "log_softmax": lambda x: F.log_softmax(x, -1),
        "layer_norm": lambda x, w, b: F.layer_norm(x, [hidden], w, b, EPS),
        "rms_norm": lambda x, w: F.rms_norm(x, [hidden], w, EPS),
    }[op]

    def call(xs, ys):
        if op == "softmax":
            torch.ops.aten.softmax.int_out(xs[0], -1, out=ys[0])
        elif op == "log_softmax":
            torch.ops.aten.log_softmax.int_out(xs[0], -1, out=ys[0])
        else:
            ys[0] = fn(*xs)
    return [shape] + [[hidden]] * params, [shape], call, lambda xs: autograd_ref(fn, xs)


def matmul_op(op, shape):
    """matmul a [M, K] @ b [K, N] (out= form), or linear_bias_gelu: addmm then GELU in place."""
    m, n, k = shape
    if op == "matmul":
        return ([[m, k], [k, n]], [[m, n]], lambda xs, ys: torch.matmul(xs[0], xs[1], out=ys[0]),
                lambda xs: autograd_ref(torch.matmul, xs))

    def call(xs, ys):
        torch.addmm(xs[2], xs[0], xs[1].t(), out=ys[0])
        torch.ops.aten.gelu_(ys[0])
    return ([[m, k], [n, k], [n]], [[m, n]], call,
            lambda xs: autograd_ref(lambda x, w, b: F.gelu(F.linear(x, w, b)), xs))


def conv_op(op, shape):
    """ConvOp's NHWC case {N, H, W, C, K, R, S, stride, pad}: F.conv2d on channels-last views (the
    result replaces ys[0], viewed back as NHWC); the fused form adds the bias and applies ReLU
    eagerly, in place; conv2d_dw has groups = C."""
    n, h, w, c, k, r, s, stride, pad = shape
    groups = c if op.startswith("conv2d_dw") else 1
    bias = op.endswith("_bias_relu")
    p, q = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1

    def conv(x, wt, b=None):
        out = F.conv2d(x.permute(0, 3, 1, 2), wt.permute(0, 3, 1, 2), None, stride, pad, 1, groups)
        if b is not None:
            out = out.add_(b.view(1, -1, 1, 1)).relu_()
        return out.permute(0, 2, 3, 1)

    def call(xs, ys):
        ys[0] = conv(*xs)
    ins = [[n, h, w, c], [k, r, s, c // groups]] + ([[k]] if bias else [])
    return ins, [[n, p, q, k]], call, lambda xs: [conv(*[t.double() for t in xs])]


def vision_op(op, shape):
    """VisionOp on x [N, C, H, W]: max_pool2d 3x3/2 pad 1, SPPF (x and three chained 5x5 stride-1
    max pools, cat over channels), 2x nearest / bilinear upsampling; the result replaces ys[0]."""
    n, c, h, w = shape

    def sppf(x):
        m1 = F.max_pool2d(x, 5, 1, 2)
        m2 = F.max_pool2d(m1, 5, 1, 2)
        return torch.cat([x, m1, m2, F.max_pool2d(m2, 5, 1, 2)], 1)
    fn, out = {
        "max_pool": (lambda x: F.max_pool2d(x, 3, 2, 1), [n, c, (h - 1) // 2 + 1, (w - 1) // 2 + 1]),
        "sppf": (sppf, [n, 4 * c, h, w]),
        "upsample_nearest": (lambda x: F.interpolate(x, size=(2 * h, 2 * w), mode="nearest"), [n, c, 2 * h, 2 * w]),
        "upsample_bilinear": (lambda x: F.interpolate(x, size=(2 * h, 2 * w), mode="bilinear", align_corners=False),
                              [n, c, 2 * h, 2 * w]),
    }[op]

    def call(xs, ys):
        ys[0] = fn(xs[0])
    return [shape], [out], call, lambda xs: [fn(xs[0].double())]


class Rows:
    """A reference on a few rows of the output only, where the full float64 one would not fit:
    select(y) picks them from an output, fn(xs) computes them in float64."""

    def __init__(self, select, fn):
        self.select, self.fn = select, fn


def attention_op(op, shape):
    """AttentionOp: q, k, v [B, H, L, D], out = softmax(q k^T / sqrt(D)) v (causal: key j <= query
    i), the result replacing ys[0]; checked on 64 query rows of every head (the full float64
    scores of L = 16K would not fit)."""
    b, h, l, d = shape
    causal = op == "attention_causal"
    idx = torch.linspace(0, l - 1, min(l, 64), device="cuda").long().unique()

    def call(xs, ys):
        ys[0] = F.scaled_dot_product_attention(*xs, is_causal=causal)

    def rows(xs):
        q, k, v = (t.double() for t in xs)
        s = q[:, :, idx] @ k.transpose(-1, -2) / d ** 0.5
        if causal:
            s.masked_fill_(torch.arange(l, device=s.device)[None, :] > idx[:, None], float("-inf"))
        return [torch.softmax(s, -1) @ v]
    return [shape] * 3, [shape], call, Rows(lambda y: y[:, :, idx], rows)


def attention_train_op(op, shape):
    """AttentionTrainOp: q, k, v, grad_out [B, H, L, D] -> dq, dk, dv of sdpa (its autograd
    backward after the forward, both timed); checked on the first (batch, head) in float64, query
    rows in chunks (the full scores of L = 16K would not fit)."""
    b, h, l, d = shape
    causal = op == "attention_causal_fwd_bwd"

    def call(xs, ys):
        q, k, v = (t.detach().requires_grad_() for t in xs[:3])
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        ys[0], ys[1], ys[2] = torch.autograd.grad(out, (q, k, v), xs[3])

    def first_head(xs):
        q, k, v, g = (t[0, 0].double() for t in xs)
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        for r0 in range(0, l, 512):
            s = q[r0:r0 + 512] @ k.T / d ** 0.5
            if causal:
                s.masked_fill_(torch.arange(l, device=s.device)[None, :] > torch.arange(r0, r0 + s.shape[0], device=s.device)[:, None],
                               float("-inf"))
            p = torch.softmax(s, -1)
            gr = g[r0:r0 + 512]
            ds = p * (gr @ v.T - (gr * (p @ v)).sum(-1, keepdim=True)) / d ** 0.5
            dq[r0:r0 + 512] = ds @ k
            dk += ds.T @ q[r0:r0 + 512]
            dv += p.T @ gr
        return [dq, dk, dv]
    return [shape] * 4, [shape] * 3, call, Rows(lambda y: y[0, 0], first_head)


def detect_op(op, shape):
    """DetectOp (java/.../bench/DetectOp.java), its operands mapped from the normal samples as there
    (domain): torchvision's batched_nms of corner boxes on an integer grid, 80 classes, IoU 0.5; and
    YOLOv8's decode of three raw heads (DFL expectation over 16 bins, dist2bbox, sigmoid of the best
    class logit) + score > 0.25 + torchvision's batched_nms at 0.45 + the first 100, padded (count,
    boxes, scores, classes = -1) as Detect.postprocess returns them. The reference: the same in
    float64 (torchvision's nms takes float64)."""
    import torchvision
    uniform = lambda z: torch.sigmoid(1.702 * z.double())
    if op == "batched_nms":
        n = shape[0]

        def domain(xs):
            z, s, c = xs
            w, h = 8 + (120 * uniform(z[:, 2])).floor(), 8 + (120 * uniform(z[:, 3])).floor()
            x, y = ((640 - w) * uniform(z[:, 0])).floor(), ((640 - h) * uniform(z[:, 1])).floor()
            boxes = torch.stack([x, y, x + w, y + h], 1).float()
            return [boxes, uniform(s).float(), (80 * uniform(c)).floor().clamp_max(79).int()]

        def call(xs, ys):
            ys[0] = torchvision.ops.batched_nms(xs[0], xs[1], xs[2], 0.5)
        ref = lambda xs: [torchvision.ops.batched_nms(xs[0].double(), xs[1].double(), xs[2], 0.5)]
        return [[n, 4], [n], [n]], [[n]], call, ref, domain
    if op != "yolov8_postprocess":
        return None
    n, size = shape[0], shape[1]
    strides, reg, classes, slots = (8, 16, 32), 16, 80, 100
    ins = [[n, 4 * reg + classes, size // s, size // s] for s in strides]

    def domain(xs):
        return [torch.cat([x[:, :4 * reg], 2 * x[:, 4 * reg:] - 8], 1) for x in xs]

    def pipeline(heads):
        boxes, scores, labels = [], [], []
        for head, stride in zip(heads, strides):
            hw = head.shape[2] * head.shape[3]
            flat = head.reshape(n, -1, hw)
            bins = torch.arange(reg, device=head.device, dtype=head.dtype).view(1, 1, reg, 1)
            d = (flat[:, :4 * reg].reshape(n, 4, reg, hw).softmax(2) * bins).sum(2)
            cy, cx = torch.meshgrid(torch.arange(head.shape[2], device=head.device, dtype=head.dtype),
                                    torch.arange(head.shape[3], device=head.device, dtype=head.dtype), indexing="ij")
            cx, cy = cx.reshape(-1) + 0.5, cy.reshape(-1) + 0.5
            boxes.append(torch.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], 2) * stride)
            best, label = flat[:, 4 * reg:].max(1)
            scores.append(best.sigmoid())
            labels.append(label)
        boxes, scores, labels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(labels, 1)
        out = [torch.zeros(n, dtype=torch.int64, device=boxes.device), torch.zeros(n, slots, 4, dtype=boxes.dtype, device=boxes.device),
               torch.zeros(n, slots, dtype=boxes.dtype, device=boxes.device), torch.full((n, slots), -1, dtype=torch.int64, device=boxes.device)]
        for i in range(n):
            keep = scores[i] > 0.25
            b, s, c = boxes[i][keep], scores[i][keep], labels[i][keep]
            kept = torchvision.ops.batched_nms(b, s, c, 0.45)[:slots]
            k = kept.numel()
            out[0][i] = k
            out[1][i, :k], out[2][i, :k], out[3][i, :k] = b[kept], s[kept], c[kept]
        return out

    def call(xs, ys):
        ys[:] = pipeline(xs)
    return ins, [[n], [n, slots, 4], [n, slots], [n, slots]], call, lambda xs: pipeline([x.double() for x in xs]), domain


def fpn_op(shape):
    """FpnOp: torchvision's FeaturePyramidNetwork.forward (1x1 laterals, nearest upsample to the
    lateral's size + add, 3x3 outputs, LastLevelMaxPool) over ResNet-50's C2-C5 of an S x S image,
    its weights inputs after the maps (each level's lateral weight and bias, then each level's
    output weight and bias), scaled by 1 / sqrt(fan_in) (biases 0.1) as FpnOp.fromNormals."""
    n, size = shape
    chans, out = [256, 512, 1024, 2048], 256
    ins = [[n, c, size >> (l + 2), size >> (l + 2)] for l, c in enumerate(chans)]
    ins += [s for c in chans for s in ([out, c, 1, 1], [out])]
    ins += [s for _ in chans for s in ([out, out, 3, 3], [out])]
    outs = [[n, out, size >> (l + 2), size >> (l + 2)] for l in range(4)]
    last = size >> 5
    outs.append([n, out, (last + 1) // 2, (last + 1) // 2])

    def domain(xs):
        return xs[:4] + [x * (x[0].numel() ** -0.5 if x.dim() == 4 else 0.1) for x in xs[4:]]

    def fpn(xs):
        inner = F.conv2d(xs[3], xs[10], xs[11])
        p = [None] * 4
        p[3] = F.conv2d(inner, xs[18], xs[19], padding=1)
        for l in (2, 1, 0):
            inner = F.conv2d(xs[l], xs[4 + 2 * l], xs[5 + 2 * l]) + F.interpolate(inner, size=xs[l].shape[-2:], mode="nearest")
            p[l] = F.conv2d(inner, xs[12 + 2 * l], xs[13 + 2 * l], padding=1)
        return p + [F.max_pool2d(p[3], 1, 2)]

    def call(xs, ys):
        ys[:] = fpn(xs)
    return ins, outs, call, lambda xs: fpn([x.double() for x in xs]), domain


def make(op, shape, out_dtype):
    """(input shapes, output shapes, call(xs, ys), reference(xs) -> float64 outputs or None[, domain(xs)
    -> the op's operands from the normal samples]) for one op name of the registry
    (java/.../bench/Cases.java), with the inputs in its order."""
    if op == "randn":
        return [], [shape], lambda xs, ys: ys[0].normal_(), Moments(lambda xs, ys: ys[0])
    if op == "cast":
        return [shape], [shape], lambda xs, ys: ys[0].copy_(xs[0]), lambda xs: [xs[0].double().to(out_dtype).double()]
    if op == "add":  # x + a bias over the rows
        return ([shape, [shape[-1]]], [shape], lambda xs, ys: torch.add(xs[0], xs[1], out=ys[0]),
                lambda xs: [xs[0].double() + xs[1].double()])
    if op == "sum":  # over the last dim
        return ([shape], [shape[:-1]], lambda xs, ys: torch.sum(xs[0], -1, out=ys[0]),
                lambda xs: [xs[0].double().sum(-1)])
    if op in ("ddim_step", "ddpm_step"):
        return diffusion_step(op, shape)
    if op in ("softmax", "log_softmax", "layer_norm", "rms_norm"):
        return row_op(op, shape)
    if op in ("matmul", "linear_bias_gelu"):
        return matmul_op(op, shape)
    if op.startswith("conv2d"):
        return conv_op(op, shape)
    if op in ("max_pool", "sppf", "upsample_nearest", "upsample_bilinear"):
        return vision_op(op, shape)
    if op == "fpn":
        return fpn_op(shape)
    if op in ("adamw_fused", "adamw_per_param"):
        return adamw_op(op, shape)
    if op in ("batched_nms", "yolov8_postprocess"):
        return detect_op(op, shape)
    if op in ("attention", "attention_causal"):
        return attention_op(op, shape)
    if op in ("attention_fwd_bwd", "attention_causal_fwd_bwd"):
        return attention_train_op(op, shape)
    name, bwd = (op[:-4], True) if op.endswith("_bwd") else (op, False)
    if name.startswith("swiglu"):
        # split: x [.., 2H] = [up | gate] as torch glu, out [.., H]; else gate and up
        split = name == "swiglu_split"
        half = shape[:-1] + [shape[-1] // 2]
        if split:
            parts = lambda x: reversed(x.chunk(2, -1))  # (gate, up)
            ins, outs = ([shape, half], [shape]) if bwd else ([shape], [half])
            ref_fn = lambda x: swiglu(*parts(x))
        else:
            parts = lambda gate, up: (gate, up)
            ins, outs = ([shape] * 3, [shape] * 2) if bwd else ([shape] * 2, [shape])
            ref_fn = swiglu
        nargs = 1 if split else 2
        if not bwd:
            def forward(xs, ys):
                gate, up = parts(*xs)
                torch.mul(torch.nn.functional.silu(gate), up, out=ys[0])
            return ins, outs, forward, lambda xs: autograd_ref(ref_fn, xs)

        def backward(xs, ys):
            gate, up = parts(*xs[:nargs])
            grad_out = xs[nargs]
            grad_gate, grad_up = reversed(ys[0].chunk(2, -1)) if split else ys
            torch.ops.aten.silu_backward.grad_input(grad_out * up, gate, grad_input=grad_gate)
            torch.mul(grad_out, torch.nn.functional.silu(gate), out=grad_up)
        return ins, outs, backward, lambda xs: autograd_ref(ref_fn, xs[:nargs], xs[nargs])
    bias = name.endswith("_bias")
    act = name[:-5] if bias else name
    if act not in ACTS:
        return None
    bias_shape = [[shape[-1]]] if bias else []
    ref_fn = (lambda x, b: ACTS[act](x + b)) if bias else ACTS[act]
    if not bwd:
        call = (lambda xs, ys: ACT_OUT[act](xs[0] + xs[1], ys[0])) if bias else (lambda xs, ys: ACT_OUT[act](xs[0], ys[0]))
        return [shape] + bias_shape, [shape], call, lambda xs: autograd_ref(ref_fn, xs)
    if act not in ACT_BWD:
        return None

    def backward(xs, ys):  # inputs x, gradOut[, bias]; outputs grad_in[, grad_bias]
        pre = xs[0] + xs[2] if bias else xs[0]
        ACT_BWD[act](xs[1], pre, ys[0])
        if bias:
            torch.sum(ys[0].view(-1, shape[-1]), 0, out=ys[1])
    return ([shape, shape] + bias_shape, [shape] + bias_shape, backward,
            lambda xs: autograd_ref(ref_fn, [xs[0]] + xs[2:], xs[1]))


def adamw_op(op, shape):
    """One AdamW step at step 1 (torch's defaults) over a GPT-style parameter list cut from flat
    buffers (AdamWOp.java: per layer qkv, out proj, two LayerNorms, MLP, with biases): adamw_fused
    against torch._fused_adamw_ (torch.optim.AdamW(fused=True)), adamw_per_param against the
    single-tensor loop (foreach=False). In place: the outputs are the updated param, exp_avg and
    exp_avg_sq; the reference reads a float64 copy of the first input set taken before any call."""
    layers, h = shape
    sizes = [3 * h * h, 3 * h, h * h, h, h, h, 4 * h * h, 4 * h, 4 * h * h, h, h, h] * layers
    n = sum(sizes)
    lr, b1, b2, eps, wd = 1e-3, 0.9, 0.999, 1e-8, 1e-2
    steps = [torch.ones((), device="cuda") for _ in sizes]
    first = []

    def domain(xs):
        xs = [xs[0], xs[1], xs[2], xs[3] * xs[3]]  # a second moment is >= 0
        if not first:
            first.extend(x.double().clone() for x in xs)
        return xs

    def call(xs, ys):
        p, g, m, v = (list(x.split(sizes)) for x in xs)
        if op == "adamw_fused":
            torch._fused_adamw_(p, g, m, v, [], steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps,
                                amsgrad=False, maximize=False)
        else:
            for pi, gi, mi, vi in zip(p, g, m, v):
                pi.mul_(1 - lr * wd)
                mi.lerp_(gi, 1 - b1)
                vi.mul_(b2).addcmul_(gi, gi, value=1 - b2)
                pi.addcdiv_(mi, (vi.sqrt() / (1 - b2) ** 0.5).add_(eps), value=-lr / (1 - b1))
        ys[0], ys[1], ys[2] = xs[0], xs[2], xs[3]

    def ref(xs):
        p, g, m, v = first
        m1 = b1 * m + (1 - b1) * g
        v1 = b2 * v + (1 - b2) * g * g
        return [p * (1 - lr * wd) - lr / (1 - b1) * m1 / ((v1 / (1 - b2)).sqrt() + eps), m1, v1]

    return [[n]] * 4, [[n]] * 3, call, ref, domain


def check(op, xs, ys, ref, out_dtype):
    for y in ys:
        if not torch.isfinite(y).all():
            return "non-finite output"
    if isinstance(ref, Moments):  # randn, noisy steps: the moments of N(0, 1)
        y = ref.standardize(xs, ys).double()
        n = y.numel()
        mean, var = y.mean().item(), y.var().item()
        if abs(mean) > 6 / n ** 0.5 or abs(var - 1) > 6 * (2 / n) ** 0.5 + 2 * TOL[out_dtype]:
            return f"moments {mean:.3g} {var:.4f}"
        return None
    tol = 0 if op == "cast" else TF32_TOL if op.endswith(TF32_SUFFIX) else TOL[out_dtype]
    if isinstance(ref, Rows):
        ys, refs = [ref.select(y) for y in ys], ref.fn(xs)
    else:
        refs = ref(xs)
    for i, (y, r) in enumerate(zip(ys, refs)):
        if y.shape != r.shape:
            return f"output {i}: shape {list(y.shape)}, the reference's {list(r.shape)}"
        r = r.double()
        err = ((y.double() - r).norm() / r.norm().clamp_min(1e-300)).item()
        if not err <= tol:
            return f"output {i}: relative error {err:.3g} > {tol:g}"
    return None


def time_case(call, xs, ys, warmup_s=0.1, min_sample_s=2e-3, samples=30):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    k, batch, spent, per = 0, 1, 0.0, 0.0
    for _ in range(max(len(xs), len(ys))):  # a whole rotation first, as deepkern's Sampler
        call(xs[k % len(xs)], ys[k % len(ys)]); k += 1
    while spent < warmup_s:
        start.record()
        for _ in range(batch):
            call(xs[k % len(xs)], ys[k % len(ys)]); k += 1
        stop.record(); stop.synchronize()
        t = start.elapsed_time(stop) / 1e3
        spent, per, batch = spent + t, t / batch, batch * 2
    inner = max(1, int(min_sample_s / max(per, 1e-9)))
    out = []
    for _ in range(samples):
        start.record()
        for _ in range(inner):
            call(xs[k % len(xs)], ys[k % len(ys)]); k += 1
        stop.record(); stop.synchronize()
        out.append(start.elapsed_time(stop) / 1e3 / inner)
    q = statistics.quantiles(out, n=10)
    return statistics.median(out), q[0], q[-1]


def main(plan, out_path):
    peer = f"PyTorch {torch.__version__.split('+')[0]} cuda"
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    rows = []
    for line in open(plan):
        if not line.strip() or line.startswith("#"):
            continue
        case_id, op, dt, out_dt, shape = line.rstrip("\n").split("\t")
        dtype, out_dtype = DTYPES[dt], DTYPES[out_dt]
        shape = [int(s) for s in shape.split("x")]
        tf32 = op.endswith(TF32_SUFFIX)
        allow_tf32(tf32)
        impl = make(op[:-len(TF32_SUFFIX)] if tf32 else op, shape, out_dtype)
        if impl is None:
            rows.append(f"{case_id}\t{peer}\tn/a (no PyTorch op mapped)")
            continue
        ins, outs, call, ref = impl[:4]
        # every input read once, every output written once, as BenchCase.bytes
        per_call = sum(math.prod(s) for s in ins) * dtype.itemsize + sum(math.prod(s) for s in outs) * out_dtype.itemsize
        copies = max(1, min(64, -(-4 * max(l2, 32 << 20) // per_call)))
        g = torch.Generator(device="cuda").manual_seed(1000)
        xs = [[torch.randn(s, device="cuda", generator=g).to(dtype) for s in ins] for _ in range(copies)]
        if len(impl) > 4:
            xs = [impl[4](x) for x in xs]
        ys = [[torch.full(s, float("nan"), device="cuda", dtype=out_dtype) for s in outs] for _ in range(copies)]
        call(xs[0], ys[0])
        why = check(op, xs[0], ys[0], ref, out_dtype)
        if why:
            rows.append(f"{case_id}\t{peer}\tpeer wrong: {why}")
            continue
        med, p10, p90 = time_case(call, xs, ys)
        rows.append(f"{case_id}\t{peer}\t{med:.6g}\t{p10:.6g}\t{p90:.6g}")
        del xs, ys
    with open(out_path, "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"torch_peer: {len(rows)} cases -> {out_path}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
