#!/usr/bin/env python3
"""Summarises the bias studies of this folder (issue 14 §3) as the README's tables.

Reads every {copy,charlm}/study*/bias.json that `tbptt bias-study` wrote (one per seed of the sample positions) and
prints, per task: how often δ̂(K) ≥ the measured parameter-gradient bias over the grid (all K < W, and only where the
measured bias is at least 1 %), and, at the K the estimator chooses for each δ (κ̂(δ)), the measured bias over δ.
Standard library only: python3 docs/results/bias-vs-truth/summarize.py
"""
import glob
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))


def load(task):
    studies = []
    for path in sorted(glob.glob(os.path.join(HERE, task, "study*", "bias.json"))):
        with open(path, encoding="utf-8") as f:
            studies.append((os.path.basename(os.path.dirname(path)), json.load(f)))
    return studies


def inf(v):
    return float("inf") if v is None else v  # the JSON writes ∞ as null


def summarise(task):
    studies = load(task)
    if not studies:
        return
    points = [p for _, s in studies for p in s]
    print(f"### {task}: {len(studies)} position seeds × {len(studies[0][1])} training points (W = {points[0]['window']}, S = {points[0]['samples']}, {points[0]['cumulative']} C_K)\n")
    print("| measured | K < W: δ̂ ≥ measured | K where measured ≥ 0.01: δ̂ ≥ measured | δ̂ / measured there: median [min] |")
    print("|---|--:|--:|--:|")
    for name, key in [("mean gradient", "meanGradientBias"), ("samples' mean", "sampleMean")]:
        rows = [r for p in points for r in p["rows"] if r["k"] < p["window"]]
        big = [r for r in rows if r[key] >= 0.01]
        ok_all = sum(inf(r["deltaHat"]) >= r[key] for r in rows)
        ok_big = sum(inf(r["deltaHat"]) >= r[key] for r in big)
        ratios = [inf(r["deltaHat"]) / r[key] for r in big]
        print(f"| {name} | {ok_all}/{len(rows)} ({100 * ok_all / len(rows):.0f} %) | {ok_big}/{len(big)} ({100 * ok_big / max(len(big), 1):.0f} %) | {statistics.median(ratios):.2f} [{min(ratios):.2f}] |")
    for label, key in [("exact", "deltaHatExact"), ("approximate", "deltaHatApprox")]:
        if label == points[0]["cumulative"]:
            continue
        rows = [r for p in points for r in p["rows"] if r["k"] < p["window"] and r["meanGradientBias"] >= 0.01]
        ok = sum(inf(r[key]) >= r["meanGradientBias"] for r in rows)
        ratios = [inf(r[key]) / r["meanGradientBias"] for r in rows]
        print(f"| mean gradient, δ̂ with the {label} C_K instead | | {ok}/{len(rows)} ({100 * ok / max(len(rows), 1):.0f} %) | {statistics.median(ratios):.2f} [{min(ratios):.2f}] |")
    print()
    deltas = sorted({x["delta"] for p in points for x in p["kByDelta"]}, reverse=True)
    print("| δ | κ̂(δ): median [min, max] | measured / δ at κ̂, mean gradient: median [max] | measured > δ | samples' mean / δ: median [max] | samples' 90 % quantile / δ: median |")
    print("|--:|---|---|--:|---|--:|")
    for d in deltas:
        ks, mg, sm, q90 = [], [], [], []
        for p in points:
            k = next(x["k"] for x in p["kByDelta"] if x["delta"] == d)
            r = next(r for r in p["rows"] if r["k"] == k)
            ks.append(k); mg.append(r["meanGradientBias"] / d); sm.append(r["sampleMean"] / d); q90.append(r["q90"] / d)
        over = sum(v > 1 for v in mg)
        print(f"| {d:g} | {statistics.median(ks):g} [{min(ks)}, {max(ks)}] | {statistics.median(mg):.2f} [{max(mg):.2f}] | {over}/{len(mg)} | "
              f"{statistics.median(sm):.2f} [{max(sm):.2f}] | {statistics.median(q90):.2f} |")
    print()


if __name__ == "__main__":
    for task in ("copy", "charlm"):
        summarise(task)
