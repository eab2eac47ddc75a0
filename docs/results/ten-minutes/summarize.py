#!/usr/bin/env python3
"""The screening table of docs/results/ten-minutes (issue 13, point 5): one row per run under screen/, from its
run.json (the set-up) and summary.json (what it reached). Prints Markdown; bits/char are base-2 per character."""
import json
import math
import pathlib
import sys

root = pathlib.Path(__file__).parent / (sys.argv[1] if len(sys.argv) > 1 else "screen")
rows = []
for run in sorted(root.iterdir()):
    summary, options = run / "summary.json", run / "run.json"
    if not summary.is_file():
        continue
    s, o = json.loads(summary.read_text()), json.loads(options.read_text())
    m, t = o["model"], o["training"]
    trained = s["evaluations"][-1]["tokens"]
    # host.json (screen.sh, from the sixth round on): the hypervisor's steal share of the run's CPU time
    host = run / "host.json"
    steal = f"{json.loads(host.read_text())['stealShare'] * 100:.0f} %" if host.is_file() else "–"
    rows.append((s["bestValidBits"], run.name, m, t, o["truncation"]["k"], o["corpus"]["batch"], s, trained, steal))
print("| run | model | dropout | K | batch | peak lr | updates | epochs | chars trained/s | evaluation share | steal | valid bits/char (best) | test at best |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for bits, name, m, t, k, batch, s, trained, steal in sorted(rows, key=lambda r: r[0]):
    rate = trained / (s["wallSeconds"] - s["evalSeconds"])
    print(f"| {name} | {m['cell'].upper()} {m['layers']}×{m['hidden']} | {m['dropout']} | {k} | {batch} | {t['learningRate']:g} | "
          f"{s['updates']} | {s['epochs']:.2f} | {rate:,.0f} | {s['evalShare'] * 100:.1f} % | {steal} | **{bits:.3f}** | {s['testBitsAtBest']:.3f} |")
