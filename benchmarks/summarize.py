#!/usr/bin/env python3
"""Markdown table of benchmarks/compare.sh results: medians per configuration and side, and their ratios.

Usage: summarize.py RUNS.jsonl GEMM.json [--reps N] [--seconds S] [--threads T] [--k K]
RUNS.jsonl holds one {"side", "config", "result"} object per line (side: pytorch | native | managed).
"""
import argparse
import json
import statistics
import subprocess
from collections import defaultdict


def lscpu(field):
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("runs")
    p.add_argument("gemm")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k", type=int, default=50)
    a = p.parse_args()

    results = defaultdict(list)  # (config, side) -> [result]
    order = []
    with open(a.runs, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["config"] not in order:
                order.append(r["config"])
            results[(r["config"], r["side"])].append(r["result"])
    with open(a.gemm, encoding="utf-8") as f:
        gemm = json.load(f)

    def med(config, side, key):
        values = [r[key] for r in results.get((config, side), []) if r.get(key) is not None]
        return statistics.median(values) if values else None

    def fmt(v, digits=0):
        return "–" if v is None else f"{v:,.{digits}f}"

    def ratio(x, y):
        return "–" if x is None or y is None or y == 0 else f"{x / y:.2f}×"

    def first(side):
        return next((r for (c, s), rs in results.items() if s == side for r in rs), {})

    ours, torch_side = first("native") or first("managed"), first("pytorch")
    machine = ours.get("machine") or gemm.get("machine", {})
    model = lscpu("Model name") or machine.get("cpu", "?")
    cores = lscpu("CPU(s)") or machine.get("cores", "?")
    flags = lscpu("Flags") or ""
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    dates = sorted(r.get("date", "") for rs in results.values() for r in rs)
    date = dates[-1][:10] if dates else gemm.get("date", "")[:10]

    print(f"Machine: {model}, {cores} cores ({simd}), {machine.get('os', '?')}; tbptt on {ours.get('runtime', '?')}; "
          f"{torch_side.get('runtime', 'PyTorch ?')} ({torch_side.get('blas', '?')}).")
    print(f"Date: {date}. Embedding 64, 1-layer LSTM, vocabulary 65, TBPTT({a.k}, {a.k}), SGD + clipping, "
          f"{a.threads} threads on both sides.")
    rates = gemm.get("gflops", {})
    print("sgemm rate (n = 1024): " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in rates.items()) + ".")
    print()
    print("| config | PyTorch chars/s | ours native chars/s | ratio | ours managed chars/s | ratio "
          "| GFLOP/s native | GFLOP/s managed | GFLOP/s PyTorch | peak MB native / managed / PyTorch | alloc B/update |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for config in order:
        h, b = config.split("x")
        pt, nat, man = (med(config, s, "charsPerSecond") for s in ("pytorch", "native", "managed"))
        mem = " / ".join(fmt(None if v is None else v / 2**20) for v in
                         (med(config, s, "peakMemoryBytes") for s in ("native", "managed", "pytorch")))
        alloc = max((v for v in (med(config, s, key) for s in ("native", "managed")
                                 for key in ("allocatedBytesPerUpdate", "allocatedBytesPerUpdateAllThreads"))
                     if v is not None), default=None)
        print(f"| H={h}, B={b} | {fmt(pt)} | {fmt(nat)} | {ratio(nat, pt)} | {fmt(man)} | {ratio(man, pt)} "
              f"| {fmt(med(config, 'native', 'gflops'), 1)} | {fmt(med(config, 'managed', 'gflops'), 1)} "
              f"| {fmt(med(config, 'pytorch', 'gflops'), 1)} | {mem} | {fmt(alloc)} |")
    print()
    counts = sorted({len(v) for v in results.values()})
    n = counts[0] if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    print(f"Medians of {n} run{'' if n == 1 else 's'} of {a.seconds:g} s each (after warm-up), sides run alternately. "
          "FLOPs per token = 3 × 2 × (4H(E + H) + H·V).")
    for config in ("1024x32",):
        g = med(config, "native", "gflops")
        if g is not None and rates:
            best = max(rates.values())
            name = max(rates, key=rates.get)
            print(f"H = 1024, B = 32 native: {g:.1f} GFLOP/s = {100 * g / best:.0f}% of the machine's sgemm rate "
                  f"({name}, {best:.1f} GFLOP/s).")


if __name__ == "__main__":
    main()
