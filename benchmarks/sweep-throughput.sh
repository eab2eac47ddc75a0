#!/usr/bin/env bash
# How to spend the cores on a sweep: the copy task (LSTM 2 × 50, batch 64, TBPTT(15, 29), the paper's set-up) as
# 1 job × 2 threads against 2 jobs × 1 thread, through the path users run (`tbptt sweep local`), in aggregate
# tokens of compute per second (Σ compute tokens of the runs / wall time of the pool). The two layouts alternate;
# the medians of --reps repetitions are printed with the machine and the date.
#
#   benchmarks/sweep-throughput.sh [--epochs 2] [--reps 3]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=2 reps=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--reps N]" >&2; exit 2 ;;
  esac
done
dotnet build src/Tbptt.Cli -c Release -v q -nologo >/dev/null
tbptt=(dotnet src/Tbptt.Cli/bin/Release/net10.0/tbptt.dll)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # measure JOBS THREADS → tokens/s
  local jobs=$1 threads=$2 dir
  dir=$(mktemp -d -p "$work")
  # Two runs (seeds 1 and 2) so that two jobs have one run each.
  "${tbptt[@]}" sweep plan copy --fixed 15 --adaptive "" --seeds 1,2 --epochs "$epochs" --out "$dir" >/dev/null
  local start end
  start=$(date +%s.%N)
  "${tbptt[@]}" sweep local "$dir" --jobs "$jobs" --threads "$threads" >/dev/null
  end=$(date +%s.%N)
  python3 - "$dir" "$start" "$end" <<'PY'
import json, pathlib, sys
d, start, end = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
tokens = sum(json.loads(p.read_text())["computeTokens"] for p in d.glob("runs/*/summary.json"))
print(f"{tokens / (end - start):.0f}")
PY
}

a=() b=()
for ((i = 0; i < reps; i++)); do
  a+=("$(measure 1 2)")
  b+=("$(measure 2 1)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ma=$(median "${a[@]}") mb=$(median "${b[@]}")
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "copy task, 2 runs × $epochs epochs, $(nproc) cores ($cpu), $(date -u +%Y-%m-%d), BLAS: $("${tbptt[@]}" info | awk '/^blas:/ {print $2; exit}')"
echo "| layout | tokens of compute / s (median of $reps) | runs |"
echo "|---|--:|---|"
echo "| 1 job × 2 threads | $ma | ${a[*]} |"
echo "| 2 jobs × 1 thread | $mb | ${b[*]} |"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "2 jobs × 1 thread / 1 job × 2 threads = %.2f×\n", b / a }'
