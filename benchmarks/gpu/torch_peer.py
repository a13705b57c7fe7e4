#!/usr/bin/env python3
"""torch_peer.py PLAN OUT - PyTorch's times on cuda for the cases of `deepkern bench --plan`.

Reads the plan (case id, op, dtype, out dtype, shape; tab-separated), runs the same op with the
same semantics in PyTorch eager on cuda:0, checks each result against float64 on the GPU (a
wrong result is reported as FAIL, not timed), times it with CUDA events over rotating inputs
(several times the L2 size together), and writes OUT for `deepkern bench --peer-times OUT`:
case id, peer, median, p10, p90 in seconds.
"""
import statistics
import sys

import torch

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def make(op, out_dtype):
    """(call(x, y), reference(x) in float64 or None) for one op name of the registry."""
    if op in ("gelu", "gelu_tanh"):
        approx = "tanh" if op == "gelu_tanh" else "none"
        # the out= form behind torch.nn.functional.gelu, so no extra copy is timed
        return (lambda x, y: torch._C._nn.gelu(x, approximate=approx, out=y),
                lambda x: torch.nn.functional.gelu(x.double(), approximate=approx))
    if op == "randn":
        return (lambda x, y: y.normal_(), None)
    if op == "cast":
        return (lambda x, y: y.copy_(x), lambda x: x.double().to(out_dtype).double())
    return None


def check(op, x, y, ref, out_dtype):
    y = y.double()
    if not torch.isfinite(y).all():
        return "non-finite output"
    if ref is None:  # randn: moments
        n = y.numel()
        mean, var = y.mean().item(), y.var().item()
        if abs(mean) > 6 / n ** 0.5 or abs(var - 1) > 6 * (2 / n) ** 0.5 + 2 * TOL[out_dtype]:
            return f"moments {mean:.3g} {var:.4f}"
        return None
    r = ref(x)
    err = ((y - r).norm() / r.norm().clamp_min(1e-300)).item()
    tol = 0 if op == "cast" else TOL[out_dtype]
    return None if err <= tol else f"relative error {err:.3g} > {tol:g}"


def time_case(call, xs, ys, warmup_s=0.1, min_sample_s=2e-3, samples=30):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    k, batch, spent, per = 0, 1, 0.0, 0.0
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
        impl = make(op, out_dtype)
        if impl is None:
            rows.append(f"{case_id}\t{peer}\tn/a (no PyTorch op mapped)")
            continue
        call, ref = impl
        numel = 1
        for s in shape:
            numel *= s
        per_call = numel * (dtype.itemsize + out_dtype.itemsize)
        copies = max(1, min(64, -(-4 * max(l2, 32 << 20) // per_call)))
        g = torch.Generator(device="cuda").manual_seed(1000)
        xs = [torch.randn(shape, device="cuda", generator=g).to(dtype) for _ in range(copies)]
        ys = [torch.full(shape, float("nan"), device="cuda", dtype=out_dtype) for _ in range(copies)]
        call(xs[0], ys[0])
        why = check(op, xs[0], ys[0], ref, out_dtype)
        if why:
            rows.append(f"{case_id}\t{peer}\tFAIL: {why}")
            continue
        med, p10, p90 = time_case(call, xs, ys)
        rows.append(f"{case_id}\t{peer}\t{med:.6g}\t{p10:.6g}\t{p90:.6g}")
        del xs, ys
    with open(out_path, "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"torch_peer: {len(rows)} cases -> {out_path}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
