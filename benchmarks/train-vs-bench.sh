#!/usr/bin/env bash
# The trainer against the benchmark (issue 13, point 1): `bench charlm` and `charlm train` on the same model
# (LSTM 2 × 512, embedding 64, TBPTT(100, 100), dropout 0.1, Adam, batch 32, tiny-Shakespeare), alternating.
# The trainer's rate is its training rate: characters trained / (wall time − evaluation time) from summary.json;
# a run this short evaluates once, at its end. Medians of --reps pairs, with the machine, the date and the load.
#
#   benchmarks/train-vs-bench.sh [--reps 3] [--seconds 60] [--minutes 1.5] [--hidden 512] [--layers 2] [--k 100]
#                                [--matmul-precision highest|medium]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 seconds=60 minutes=1.5 hidden=512 layers=2 k=100 precision=highest
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --hidden) hidden=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --k) k=$2; shift 2 ;;
    --matmul-precision) precision=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--minutes M] [--hidden H] [--layers L] [--k K] [--matmul-precision P]" >&2; exit 2 ;;
  esac
done
corpus=datasets/tinyshakespeare/input.txt
tbptt=(dotnet "${TBPTT_DLL:-src/Tbptt.Cli/bin/Release/net10.0/tbptt.dll}")
export TBPTT_BLAS=${TBPTT_BLAS:-managed}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench() {
  "${tbptt[@]}" bench charlm --corpus "$corpus" --hidden "$hidden" --layers "$layers" --k "$k" --batch 32 --embed 64 \
    --dropout 0.1 --optimizer adam --lr 0.002 --clip 5 --matmul-precision "$precision" --seconds "$seconds" \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["charsPerSecond"]))'
}
train() {
  local dir
  dir=$(mktemp -d -p "$work")
  "${tbptt[@]}" charlm train --corpus "$corpus" --hidden "$hidden" --layers "$layers" --k "$k" --batch 32 --embed 64 \
    --dropout 0.1 --optimizer adam --matmul-precision "$precision" --minutes "$minutes" --out "$dir" >/dev/null 2>&1
  python3 - "$dir/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
tokens = s["evaluations"][-1]["tokens"]
print(f'{tokens / (s["wallSeconds"] - s["evalSeconds"]):.0f} {s["evalShare"]:.3f}')
PY
}

a=() b=() shares=()
for ((i = 0; i < reps; i++)); do
  a+=("$(bench)")
  read -r rate share < <(train)
  b+=("$rate"); shares+=("$share")
  echo "pair $((i + 1)): bench ${a[-1]} chars/s, train ${b[-1]} chars/s (evaluation share $share), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ma=$(median "${a[@]}") mb=$(median "${b[@]}")
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "LSTM ${layers}×${hidden}, TBPTT($k, $k), dropout 0.1, Adam, batch 32, matmul precision $precision; $(nproc) cores ($cpu), $(date -u +%Y-%m-%dT%H:%MZ), BLAS $TBPTT_BLAS, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| | chars/s (median of $reps) | runs |"
echo "|---|--:|---|"
echo "| bench charlm | $ma | ${a[*]} |"
echo "| charlm train (training: wall − evaluation) | $mb | ${b[*]} |"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "train / bench = %.3f\n", b / a }'
