#!/usr/bin/env python3
"""Table C.1 three ways: the paper's numbers, ours on the paper's own data, ours on our generator.

Reads the summary.json that `tbptt sweep aggregate` writes in each sweep folder (mean and sd over the seeds that
are done) and prints one Markdown table per column of Table C.1. Run from the repository root:

    python3 docs/results/table-c1.py
"""
import json
import pathlib

# Table C.1 of Aicher, Foti & Fox (UAI 2019), 200 epochs, 3 seeds: valid / test perplexity.
PAPER = {
    "fixed": {"K=5": (1.655, 1.646), "K=10": (1.035, 1.036), "K=15": (1.038, 1.039), "K=20": (1.045, 1.040),
              "K=30": (1.044, 1.043), "δ=0.9": (1.018, 1.022), "δ=0.5": (1.024, 1.027), "δ=0.1": (1.029, 1.030)},
    "variable": {"K=5": (1.46, 1.47), "K=10": (1.41, 1.39), "K=15": (1.39, 1.37), "K=20": (1.39, 1.35),
                 "K=30": (1.33, 1.31), "δ=0.9": (1.37, 1.35), "δ=0.5": (1.33, 1.32), "δ=0.1": (1.31, 1.29)},
}
SWEEPS = {  # column -> [(label, folder)]
    "fixed": [("ours, paper's data", "copy-paper-fixed"), ("ours, our generator", "copy")],
    "variable": [("ours, paper's data", "copy-paper-variable"), ("ours, our generator", "copy-generator-variable")],
}
ROOT = pathlib.Path(__file__).resolve().parent


def rows(folder):
    path = ROOT / folder / "summary.json"
    if not path.exists():
        return {}
    out = {}
    for r in json.loads(path.read_text()):
        v, t = r["bestValid"], r["testAtBest"]
        seeds = f'{r["seeds"]}' + (f' of {r["plannedSeeds"]}' if r.get("plannedSeeds", r["seeds"]) != r["seeds"] else "")
        out[r["config"]] = (f'{v["mean"]:.3f} / {t["mean"]:.3f}', ", ".join(str(k) for k in r["finalK"]), seeds)
    return out


for column, sweeps in SWEEPS.items():
    data = [(label, rows(folder)) for label, folder in sweeps]
    print(f"\n{column} m{' = 10' if column == 'fixed' else ' ∈ [5, 10]'}: valid / test PPL (final K; seeds)\n")
    print("| config | paper, 200 epochs | " + " | ".join(f"{label}, 50 epochs" for label, _ in data) + " |")
    print("|---|---|" + "---|" * len(data))
    for config, (pv, pt) in PAPER[column].items():
        cells = []
        for _, r in data:
            cells.append(f"{r[config][0]} ({r[config][1]}; {r[config][2]})" if config in r else "—")
        print(f"| {config} | {pv:.3f} / {pt:.3f} | " + " | ".join(cells) + " |")
