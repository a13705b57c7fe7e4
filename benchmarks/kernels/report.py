#!/usr/bin/env python3
"""The kernel report: what every CUDA kernel of deepkern costs on sm_80 and sm_90, without a GPU.

For every kernel instantiation (PTX entry) and architecture:
  resources    ptxas -v on the kernel's PTX: registers, spill bytes, stack frame, static shared
               memory, barriers;
  launch       the block size and dynamic shared memory its launches use, as a run on the
               emulator logged them (DEEPKERN_LAUNCH_LOG; the largest seen), the launch limits
               checked against them and the theoretical occupancy on sm_80 and sm_90;
  cost model   the hot loop of the kernel's PTX (the innermost loop with the most tensor-core MMAs,
               the shortest of equals - the common case where edge tiles have a loop of their own -
               else the innermost loop with the most global memory traffic, else the whole body) by
               instruction class, and from it the ceilings: issue slots, shared-memory bandwidth
               and the special-function unit per MMA (tensor kernels: a fraction of the mma.sync
               peak; kernels on wgmma: of the wgmma peak, in m16n8k16's worth of FMA per warp), or per 16 bytes of DRAM traffic plus the bytes in flight per SM (memory
               kernels: a fraction of copy bandwidth), or the FMA share of issue (FMA kernels).

The model reads PTX, not SASS (CUDA 13.0 as installed here has no cuobjdump / nvdisasm; the Hopper
kernels' wgmma.mma_async, cp.async.bulk and mbarrier lines are what ptxas turns into HGMMA, UTMALDG /
UTMASTG and SYNCS, counted per kernel in the figures): ptxas removes some moves and adds address
arithmetic, and a 64-bit division is one PTX instruction but ~70 SASS ones (weighted as such).
Its numbers are "modelled", never "measured". Machine parameters are in MACHINES below, each
with its source or the assumption it is.

Usage: report.py [--build DIR] [--launch-log FILE] [--out DIR] [--check BASELINE] [--write-baseline BASELINE]
  --check fails (exit 1) on a new spill or stack frame, a launch over a device limit, or a hot
  kernel's modelled ceiling below the baseline's by more than 1% (a kernel that gets faster
  raises nothing; rewrite the baseline with --write-baseline to keep the gain).
"""
import argparse
import collections
import concurrent.futures
import json
import math
import os
import re
import subprocess
import sys

ARCHS = {"sm_80": "80", "sm_90a": "90a"}

# Per-SM machine parameters. issue: warp instructions per clock (4 schedulers); mma: mma.sync
# m16n8k16 (2048 FMA) per clock - and as many m16n8k8.tf32 (half the FMA at half the rate: TF32's
# peak is half of bf16's on both GPUs); smem: shared-memory bytes per clock; sfu: warp MUFU ops per clock
# (16 lanes); dram: copy bandwidth per SM per clock; latency: DRAM latency in clocks; wgmma: the
# warpgroup MMA's rate in m16n8k16's worth of FMA (2048) per clock (sm_90a only).
MACHINES = {
    "sm_80": dict(  # A100 SXM: 108 SMs at 1.41 GHz, 312 TFLOP/s dense bf16 = 1 MMA / 2 clocks
        name="A100", sms=108, ghz=1.41, issue=4, mma=0.5, smem=128, sfu=0.5,
        dram=1.7e12 / (108 * 1.41e9),  # ~1.7 TB/s achievable copy of 2.0 TB/s HBM2e
        latency=700, smem_per_sm=167936, smem_per_block=166912, max_warps=64, max_blocks=32, wgmma=None),
    "sm_90a": dict(  # H200 SXM: 132 SMs at 1.83 GHz, 989 TFLOP/s dense bf16 through wgmma.
        # mma.sync is assumed at 2/3 of that rate (the Ampere-style path cannot keep Hopper's
        # tensor cores fed); replace by the first GPU run's measurement.
        name="H200", sms=132, ghz=1.83, issue=4, mma=2 / 3, smem=128, sfu=0.5,
        dram=4.0e12 / (132 * 1.83e9),  # ~4.0 TB/s achievable copy of 4.8 TB/s HBM3e
        latency=900, smem_per_sm=233472, smem_per_block=232448, max_warps=64, max_blocks=32,
        wgmma=1.0),  # 989 TFLOP/s / (132 SMs x 1.83 GHz) = 2048 FMA per clock per SM
}
REGS_PER_SM, REG_UNIT, SMEM_UNIT, SMEM_RESERVED = 65536, 256, 128, 1024

# The kernels with goals, by a pattern over the short name (report's first table), and the goal as
# a fraction of the ceiling their class is measured against: the peer's own modelled fraction
# times the ratio the library aims for.
TENSOR = r"(__half|__nv_bfloat16)"
HOT = {
    rf"attention_forward_kernel<{TENSOR}, (64|128), true>": 0.51,   # FlashAttention-2 on an H100: ~335 of ~660 TFLOP/s mma.sync (aligned rows)
    rf"attention_backward_mma_kernel<{TENSOR}, (64|128), true>": 0.46,  # 0.9x of FA2's backward (aligned rows)
    rf"gemm_mma_kernel<{TENSOR}, true": 0.78,                  # 0.65x of cuBLAS's ~790 TFLOP/s, of ~660 (aligned rows)
    rf"gemm_sm90_kernel<{TENSOR}": 0.72,                       # 0.9x of cuBLAS's ~790 TFLOP/s, of wgmma's 989
    rf"attention_forward_sm90_kernel<{TENSOR}": 0.61,          # 1.0x FlashAttention-3's ~600 TFLOP/s forward at hdim 128, of 989
    rf"conv2d_forward_sm90_kernel<{TENSOR}>": 0.63,            # 0.9x cuDNN channels_last, assumed at 70% of wgmma's peak
    rf"conv2d_forward_mma_kernel<{TENSOR}>": 0.55,             # 0.7x of cuDNN channels_last
    r"conv2d_forward_mma_kernel<float>": 0.39,                 # f32 as TF32: 0.5x of cuDNN's TF32 (its default), ~0.79 as bf16
    r"softmax_forward(_rows)?_kernel<": 0.85,
    r"norm_forward(_rows)?_kernel<": 0.85,
    r"cast_kernel<": 0.80,
    r"fill_kernel<": 0.80,
    r"strided_copy_runs_kernel<": 0.80,   # last dim a whole number of 16-byte runs (the per-element kernel is the fallback)
    r"rope_kernel<": 0.80,
    r"ElementPass<(dk::)?Pool2d<[^>]*>, false>": 0.85,    # issue 17: pooling at 85% of copy bandwidth
    r"resize_rows_kernel<": 0.85,                         # interpolate's forward
    r"sppf_kernel<": 0.85,
}


# Kernels built for one architecture only (their other passes are a trap: the launcher never
# chooses them there), by a pattern over the short name.
ONLY_ON = {r"_sm90_kernel<": "sm_90a"}


def goal(kernel):
    return next((g for pattern, g in HOT.items() if re.search(pattern, short(kernel))), None)


# The emulator's names for CUDA's 16-bit types (emu/types.h), as they demangle.
EMU_TYPES = {r"\bdk::bf16\b": "__nv_bfloat16", r"\bdk::f16\b": "__half"}

OPS = re.compile(r"^\s*(@!?%p\d+\s+)?([a-z][\w.:]*)")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def demangle(names):
    if not names:
        return {}
    out = run(["c++filt"], input="\n".join(names) + "\n").splitlines()
    return dict(zip(names, out))


# ---- ptxas resources ----

def ptxas(ptx, arch):
    out = subprocess.run(["ptxas", f"-arch={arch}", "-v", ptx, "-o", os.devnull], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"report: ptxas failed on {ptx}:\n{out.stderr}")
    res, cur = {}, None
    for line in out.stderr.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            cur = res.setdefault(m.group(1), dict(regs=0, spill=0, stack=0, smem=0, barriers=0))
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            cur["stack"], cur["spill"] = int(m.group(1)), int(m.group(2)) + int(m.group(3))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            cur["regs"] = int(m.group(1))
            b = re.search(r"used (\d+) barriers", line)
            s = re.search(r"(\d+) bytes smem", line)
            cur["barriers"] = int(b.group(1)) if b else 0
            cur["smem"] = int(s.group(1)) if s else 0
    return res


# ---- PTX cost model ----

def entries(ptx_text):
    """{mangled name: (maxntid or None, body lines)}; the body ends at the brace matching its
    opening one (inline asm blocks open and close their own)."""
    out = {}
    for m in re.finditer(r"\.entry (\w+)\((.*?)\n\)\n([^{]*)\{\n", ptx_text, re.S):
        nt = re.search(r"\.(?:maxntid|reqntid) (\d+), (\d+), (\d+)", m.group(3))
        body, depth = [], 1
        for line in ptx_text[m.end():].splitlines():
            t = line.strip()
            depth += (t == "{" or t.endswith(" {")) - (t == "}")
            if depth == 0:
                break
            body.append(line)
        out[m.group(1)] = (math.prod(int(x) for x in nt.groups()) if nt else None, body)
    return out


def width(op):
    """Bytes per thread of a load/store/cp opcode."""
    vec = re.search(r"\.v(\d)", op)
    bits = re.search(r"\.[bfsu](8|16|32|64)\b", op)
    return (int(vec.group(1)) if vec else 1) * (int(bits.group(1)) // 8 if bits else 4)


def classify(op, line):
    """(class, weight in issue slots, bytes) of one PTX instruction; for wgmma.mma_async the third is
    the warp's share of the product in m16n8k16 units (its 16 rows: N / 8 of them)."""
    if op.startswith("wgmma.mma_async"):
        return "wgmma", 1, int(re.search(r"\.m64n(\d+)k16", op).group(1)) // 8
    if op.startswith("mma."):
        return "mma", 1, 0
    if op.startswith("mbarrier."):
        return "mbarrier", 1, 0
    if op.startswith(("wgmma.", "elect.", "setmaxnreg.", "fence.proxy")):
        return "sync", 1, 0
    if op.startswith("cp.async.bulk"):
        return "tma", 1, 0
    if op.startswith("ldmatrix"):
        n = re.search(r"\.x(\d)", op)
        return "smem", 1, 128 * int(n.group(1)) // 32  # per thread: 8 rows x 16 B per matrix, over 32 lanes
    if op.startswith(("cp.async.wait", "cp.async.commit")):
        return "sync", 1, 0
    if op.startswith("cp.async"):
        size = re.search(r",\s*(\d+)\s*(?:,|;)", line)
        return "cp.async", 1, int(size.group(1)) if size else 16
    if op.startswith(("ld.global", "st.global")):
        return ("ld.global" if op.startswith("ld") else "st.global"), 1, width(op)
    if op.startswith(("ld.shared", "st.shared")):
        return "smem", 1, width(op)
    if op.startswith(("ld.local", "st.local")):
        return "local", 1, width(op)
    if op.startswith(("bar.", "barrier.")):
        return "sync", 1, 0
    if op.startswith(("atom.", "red.")):
        return "atomic", 1, 0
    if re.match(r"(div|rem)\.[su]64", op):
        return "div64", 70, 0
    if re.match(r"(div|rem)\.[su]32", op):
        return "int", 20, 0
    if re.match(r"(ex2|lg2|rcp|rsqrt|sqrt|sin|cos|tanh)\.approx", op):
        return "sfu", 1, 0
    if re.match(r"(fma|mul|add|sub)(\.rn)?(\.ftz)?\.f32", op):
        return "fma" if op.startswith("fma") else "fp32", 1, 0
    if op.startswith(("bra", "ret", "exit")):
        return "branch", 1, 0
    return "other", 1, 0


def loops(body):
    """[(start, end)] of the back edges: a branch to a label defined earlier."""
    labels, out = {}, []
    for i, line in enumerate(body):
        m = re.match(r"^(\$\w+):", line)
        if m:
            labels[m.group(1)] = i
        m = re.search(r"\bbra(?:\.uni)?\s+(\$\w+);", line)
        if m and m.group(1) in labels:
            out.append((labels[m.group(1)], i))
    return out


def wgmma_smem(line, units):
    """Shared bytes the warp's part of a wgmma.mma_async reads: its 16 rows of A (unless A is in
    registers: a brace list after D's) and a quarter of B (the warpgroup reads it once)."""
    a_in_registers = re.search(r"\}\s*,\s*\{", line)
    return (0 if a_in_registers else 16 * 16 * 2) + 16 * units * 8 * 2 // 4


def mix(lines):
    c, b = collections.Counter(), collections.Counter()
    for line in lines:
        m = OPS.match(line)  # an instruction: directives, comments and labels do not start with a letter
        if not m:
            continue
        cls, weight, nbytes = classify(m.group(2), line)
        c[cls] += weight
        b[cls] += nbytes
        if cls == "wgmma":
            b["smem"] += wgmma_smem(line, nbytes) / 32  # per thread, as the other shared accesses count
    return c, b


def units(c, b):
    """m16n8k16-equivalent tensor operations: mma.sync's count, or wgmma's warp shares."""
    return c["mma"] + b["wgmma"]


def hot_loop(body):
    """The instruction mix of the kernel's hot loop and which loop it is."""
    cands = [(s, e) + mix(body[s:e + 1]) for s, e in loops(body)]
    with_mma = [x for x in cands if units(x[2], x[3])]
    if with_mma:
        # an innermost MMA loop (one holding no other loop with MMAs: an outer loop's count is one
        # trip of each loop inside) doing the most MMAs; the shortest of equals, which is the
        # common-case variant where a kernel runs its edge tiles in a loop of their own
        with_mma = [x for x in with_mma if not any(o[0] > x[0] and o[1] < x[1] for o in with_mma)]
        s, e, c, b = max(with_mma, key=lambda x: (units(x[2], x[3]), -(x[1] - x[0])))
        return c, b, f"loop of {e - s} lines"
    inner = [x for x in cands if not any(o[0] > x[0] and o[1] < x[1] for o in cands if o[:2] != x[:2])]
    traffic = [x for x in inner if x[3]["ld.global"] + x[3]["st.global"] + x[3]["cp.async"]]
    if traffic:
        s, e, c, b = max(traffic, key=lambda x: x[3]["ld.global"] + x[3]["st.global"] + x[3]["cp.async"])
        return c, b, f"loop of {e - s} lines"
    c, b = mix(body)
    return c, b, "whole body"


def model(c, b, m, resident_threads):
    """(kind, ceiling, limiter, per-unit figures) for one kernel on machine m."""
    issue = sum(c.values())
    if units(c, b):
        n = units(c, b)
        rate = m["wgmma"] if c["wgmma"] else m["mma"]
        per = issue / n
        smem = (b["smem"] * 32 + b["cp.async"] * 32) / n  # shared bytes per MMA, the warp's
        limits = {"issue": m["issue"] / rate / per, "smem": m["smem"] / rate / max(smem, 1e-9),
                  "sfu": m["sfu"] / rate / max(c["sfu"] / n, 1e-9)}
        figures = f"{per:.2f} instr/MMA, {smem:.0f} B smem/MMA, {c['sfu'] / n:.2f} MUFU/MMA"
        kind = "wgmma" if c["wgmma"] else "tensor"
    elif c["fma"] and c["fma"] * 4 >= issue and not (b["ld.global"] + b["st.global"]) * 4 > c["fma"]:
        # one warp FMA per issue slot is the FP32 peak; 128 B/clock of shared memory feed 128 FMA/clock
        limits = {"issue": c["fma"] / issue, "smem": c["fma"] / max(b["smem"], 1e-9)}
        figures = f"{c['fma'] / issue:.2f} FMA share of issue, {b['smem'] / c['fma']:.2f} B smem/FMA"
        kind = "fma"
    else:
        dram = b["ld.global"] + b["st.global"] + b["cp.async"]
        if not dram:
            return "other", None, "-", "no global memory traffic in the hot loop"
        packs = dram / 16
        budget = m["issue"] * 32 * 16 / m["dram"]  # thread instructions the SM issues per 16 B of DRAM
        sfu_budget = m["sfu"] * 32 * 16 / m["dram"]
        inflight = b["ld.global"] * resident_threads  # one iteration's loads in flight per thread
        need = m["dram"] * m["latency"]
        if b["ld.global"] and not resident_threads:
            return "memory", None, "no launch seen", "bytes in flight unknown without a launch configuration"
        limits = {"issue": budget / (issue / packs), "sfu": sfu_budget / max(c["sfu"] / packs, 1e-9),
                  "in flight": inflight / need if b["ld.global"] else 1.0}
        figures = (f"{issue / packs:.0f} instr/16 B ({budget:.0f} fit), {b['ld.global']} B loaded/thread/iteration, "
                   f"{inflight / 1024:.0f} KB in flight/SM of {need / 1024:.0f} KB")
        kind = "memory"
    limiter = min(limits, key=limits.get)
    return kind, min(1.0, limits[limiter]), limiter, figures


def occupancy(r, threads, dyn, m):
    warps = -(-threads // 32)
    regs_warp = -(-max(r["regs"], 1) * 32 // REG_UNIT) * REG_UNIT
    by_regs = REGS_PER_SM // (regs_warp * warps)
    smem = r["smem"] + dyn
    by_smem = m["smem_per_sm"] // (-(-smem // SMEM_UNIT) * SMEM_UNIT + SMEM_RESERVED)
    blocks = min(m["max_blocks"], m["max_warps"] // warps, by_regs, by_smem)
    problems = []
    if threads > 1024:
        problems.append(f"{threads} threads per block")
    if r["regs"] * 32 * warps > REGS_PER_SM:
        problems.append(f"{r['regs']} registers x {threads} threads > {REGS_PER_SM}")
    if smem > m["smem_per_block"]:
        problems.append(f"{smem} B shared > {m['smem_per_block']}")
    if r["smem"] > 48 * 1024:
        problems.append(f"{r['smem']} B static shared > 48 KB")
    return blocks, blocks * warps / m["max_warps"], problems


# ---- launches seen on the emulator ----

def launches(log):
    """{demangled cuda-side name: (threads, dynamic shared bytes, launch names)}: the largest seen."""
    if not log or not os.path.exists(log):
        return {}
    rows = [line.rstrip("\n").split("\t") for line in open(log) if line.count("\t") == 5]
    symbols = {}
    for lib in {r[1] for r in rows}:
        table = {}
        if not os.path.exists(lib):  # a run's temporary library folder, gone since
            symbols[lib] = table
            continue
        for line in run(["nm", "--defined-only", lib]).splitlines():
            parts = line.split()
            if len(parts) == 3:
                table[int(parts[0], 16)] = parts[2]
        symbols[lib] = table
    mangled = {(r[1], r[2]): symbols[r[1]].get(int(r[2], 16)) for r in rows}
    names = demangle(sorted({v for v in mangled.values() if v}))
    out = {}
    for r in rows:
        sym = mangled[(r[1], r[2])]
        if not sym:
            continue
        key = names[sym].replace("dk::emu::", "dk::cuda::")
        for emu_type, cuda_type in EMU_TYPES.items():
            key = re.sub(emu_type, cuda_type, key)
        threads = math.prod(int(x) for x in r[4].split(","))
        t, d, n = out.get(key, (0, 0, set()))
        out[key] = (max(t, threads), max(d, int(r[5])), n | {r[0]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="bindings/target/native-build")
    ap.add_argument("--launch-log")
    ap.add_argument("--out", default="benchmarks/target/kernels")
    ap.add_argument("--check")
    ap.add_argument("--write-baseline")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    run(["cmake", "--build", args.build, "--target"] + [f"deepkern_kernels_ptx_{a}" for a in ARCHS.values()])
    launched = launches(args.launch_log)
    rows = []
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for arch, tag in ARCHS.items():
            root = os.path.join(args.build, "kernels", "CMakeFiles", f"deepkern_kernels_ptx_{tag}.dir")
            for dirpath, _, files in os.walk(root):
                for f in sorted(files):
                    if f.endswith(".ptx"):
                        path = os.path.join(dirpath, f)
                        jobs[(arch, path)] = pool.submit(ptxas, path, arch)
    all_names = set()
    parsed = {}
    for (arch, path), fut in jobs.items():
        ents = entries(open(path).read())
        parsed[(arch, path)] = (fut.result(), ents)
        all_names |= set(ents)
    names = demangle(sorted(all_names))
    for (arch, path), (res, ents) in sorted(parsed.items()):
        m = MACHINES[arch]
        src = os.path.relpath(path, os.path.join(args.build, "kernels", "CMakeFiles")).split("/", 1)[1]
        for mangled, (maxntid, body) in ents.items():
            r = res.get(mangled)
            if r is None:
                continue
            name = names[mangled]
            if any(re.search(p, short(name)) and a != arch for p, a in ONLY_ON.items()):
                continue
            threads, dyn, via = launched.get(name, (maxntid or 0, 0, set()))
            blocks, occ, problems = occupancy(r, threads, dyn, m) if threads else (None, None, [])
            c, b, where = hot_loop(body)
            kind, ceiling, limiter, figures = model(c, b, m, (blocks or 0) * threads)
            if kind == "wgmma":  # the Hopper machinery in the whole kernel (the producer's loop is not the hot one)
                whole, _ = mix(body)
                figures += (f"; kernel: {whole['wgmma']} wgmma.mma_async (HGMMA), {whole['tma']} cp.async.bulk (UTMALDG / "
                            f"UTMASTG), {whole['mbarrier']} mbarrier (SYNCS), {whole['sync']} other sync")
            rows.append(dict(arch=arch, source=src.replace(".ptx", ".cu"), kernel=name, goal=goal(name),
                             launched=sorted(via), threads=threads, dynamic_smem=dyn, **r, blocks_per_sm=blocks,
                             occupancy=occ, problems=problems, kind=kind, ceiling=ceiling, limiter=limiter,
                             figures=figures, hot_loop=where, mix=dict(c)))
    json.dump(rows, open(os.path.join(args.out, "kernels.json"), "w"), indent=1)
    write_table(rows, os.path.join(args.out, "KERNELS.md"))
    failures = check(rows, args.check) if args.check else []
    if args.write_baseline:
        base = {f"{r['arch']} {r['kernel']}": dict(spill=r["spill"], stack=r["stack"], ceiling=r["ceiling"])
                for r in rows}
        json.dump(base, open(args.write_baseline, "w"), indent=1, sort_keys=True)
    print(f"report: {len(rows)} kernel instantiations on {len(ARCHS)} architectures, "
          f"{sum(1 for r in rows if r['launched'])} seen launched; table in {args.out}/KERNELS.md")
    for f in failures:
        print("report: FAIL " + f)
    return 1 if failures else 0


def check(rows, baseline_path):
    base = json.load(open(baseline_path))
    out = []
    for r in rows:
        key = f"{r['arch']} {r['kernel']}"
        for p in r["problems"]:
            out.append(f"{key}: cannot launch: {p}")
        old = base.get(key)
        if r["spill"] and (not old or r["spill"] > old["spill"]):
            out.append(f"{key}: spills {r['spill']} bytes")
        if r["stack"] and (not old or r["stack"] > old["stack"]):
            out.append(f"{key}: stack frame of {r['stack']} bytes")
        if r["goal"] is not None and old and old["ceiling"] and r["ceiling"] is not None \
                and r["ceiling"] < old["ceiling"] * 0.99:
            out.append(f"{key}: modelled ceiling {r['ceiling']:.2f}, was {old['ceiling']:.2f}")
    return out


def write_table(rows, path):
    pct = lambda x: "-" if x is None else f"{100 * x:.0f}%"
    with open(path, "w") as f:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        nvcc = run(["nvcc", "--version"]).strip().splitlines()[-1]
        spills = sum(1 for r in rows if r["spill"])
        over = sum(1 for r in rows if r["problems"])
        f.write("# Kernel report (modelled, not measured)\n\n"
                f"Commit {commit or '?'}, {nvcc}; {len(rows)} kernel instantiations, "
                f"{sum(1 for r in rows if r['launched'])} with a launch configuration from the tests' emu runs; "
                f"{spills} spill, {over} cannot launch.\n"
                "Generated by `benchmarks/kernels/report.py`; its header says how each column is found.\n"
                "Ceiling: the modelled fraction of the kernel's peak (tensor: the mma.sync peak; wgmma: the wgmma\n"
                "peak; memory: copy bandwidth; fma: the FP32 FMA peak) before the limiter named beside it.\n\n")
        hot = [r for r in rows if r["goal"] is not None]
        f.write("## The kernels with goals\n\n| arch | kernel | regs | spill | smem static+dyn | threads | occ. | "
                "ceiling | limiter | goal | per unit |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in sorted(hot, key=lambda r: (short(r["kernel"]), r["arch"])):
            mark = "" if r["ceiling"] is None or r["ceiling"] >= r["goal"] else " (below)"
            f.write(f"| {r['arch']} | `{short(r['kernel'])}` | {r['regs']} | {r['spill']} | {r['smem']}+{r['dynamic_smem']} | "
                    f"{r['threads'] or '-'} | {pct(r['occupancy'])} | {pct(r['ceiling'])}{mark} | {r['limiter']} | "
                    f"{pct(r['goal'])} | {r['figures']} |\n")
        f.write("\n## Every kernel\n\n| arch | source | kernel | regs | spill | stack | smem static+dyn | threads | "
                "blocks/SM | occ. | kind | ceiling | limiter |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in sorted(rows, key=lambda r: (r["source"], r["kernel"], r["arch"])):
            f.write(f"| {r['arch']} | {r['source']} | `{short(r['kernel'])}` | {r['regs']} | {r['spill']} | {r['stack']} | "
                    f"{r['smem']}+{r['dynamic_smem']} | {r['threads'] or '-'} | {r['blocks_per_sm'] if r['blocks_per_sm'] is not None else '-'} | "
                    f"{pct(r['occupancy'])} | {r['kind']} | {pct(r['ceiling'])} | {r['limiter']} |\n")


def short(name):
    """The kernel's name without namespaces and its parameter list (the parenthesis matching the last
    one: template arguments may hold parentheses of their own, as "(Rule)0" or "(anonymous namespace)")."""
    name = re.sub(r"\(anonymous namespace\)::|dk::cuda::|dk::", "", name)
    if name.endswith(")"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break
    return name.replace("|", "\\|")


if __name__ == "__main__":
    sys.exit(main())
