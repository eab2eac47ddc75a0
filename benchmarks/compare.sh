#!/usr/bin/env bash
# Side-by-side training throughput of tbptt and PyTorch on this machine (issue 6), printed as a Markdown table.
#
# For each configuration (embedding 64, 1-layer LSTM, vocabulary 65, TBPTT(50, 50), SGD with clipping):
#   H = 128, 512, 1024 at B = 32, and H = 512 at B = 128
# it runs, alternately and --reps times: PyTorch (benchmarks/pytorch/charlm_bench.py), tbptt with the native
# BLAS (TBPTT_BLAS=openblas) and tbptt with the managed kernel (TBPTT_BLAS=managed), each for --seconds after a
# warm-up, with --threads threads on both sides; the table shows medians. It also measures the machine's
# sgemm rate (tbptt bench gemm --n 1024) so that GFLOP/s can be read as a fraction of it.
#
# Usage: benchmarks/compare.sh [--reps N] [--seconds S] [--threads T] [--k K] [--configs "128x32 512x32"] [--out DIR]
# Needs: dotnet (SDK 10), /usr/bin/python3 with torch, OpenBLAS:
#   apt-get install -y python3-torch libopenblas0-pthread
set -euo pipefail

reps=3 seconds=10 threads=2 k=50 configs="128x32 512x32 1024x32 512x128" out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --k) k="$2"; shift 2 ;;
    --configs) configs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

load0="$(cut -d' ' -f1-3 /proc/loadavg)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py=/usr/bin/python3

if ! [[ -x "$py" ]] || ! "$py" -c 'import torch' 2>/dev/null; then
  echo "compare.sh: $py with torch is needed for the PyTorch side; install it with" >&2
  echo "    apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 1
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; then
  echo "compare.sh: OpenBLAS (libopenblas.so.0) is needed for the native side; install it with" >&2
  echo "    apt-get install -y libopenblas0-pthread" >&2
  exit 1
fi
if pgrep -f "dotnet test" >/dev/null; then
  echo "compare.sh: warning: 'dotnet test' is running; the timings will share the cores with it." >&2
fi
# PyTorch's OpenMP threads spin while they wait, so a busy machine slows it far more than it slows us
# (measured: 5x fewer chars/s with 2 threads than with 1 while another process used a core). Warn.
if awk -v cores="$(nproc)" '{ exit !($1 > 0.5 * cores) }' /proc/loadavg; then
  echo "compare.sh: warning: load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores; results will not be representative." >&2
fi

echo "building tbptt (Release) ..." >&2
dotnet build src/Tbptt.Cli -c Release -nologo -v q >&2
tbptt=(dotnet "$root/src/Tbptt.Cli/bin/Release/net10.0/tbptt.dll")

out="${out:-$(mktemp -d -t tbptt-compare.XXXXXX)}"
mkdir -p "$out"
runs="$out/runs.jsonl"
: >"$runs"
echo "raw results: $runs" >&2

limit=$(awk -v s="$seconds" 'BEGIN { printf "%d", 4 * s + 300 }')

# Appends one line: {"side": ..., "config": ..., "result": <the benchmark's JSON>}
record() {
  local side="$1" config="$2"; shift 2
  local json
  if ! json="$(timeout "$limit" "$@")"; then
    echo "compare.sh: $side $config failed: $*" >&2
    return 0
  fi
  json="$(printf '%s\n' "$json" | tail -n 1)"
  printf '{"side": "%s", "config": "%s", "result": %s}\n' "$side" "$config" "$json" >>"$runs"
  printf '  %-8s %-9s %s chars/s\n' "$side" "$config" \
    "$(printf '%s' "$json" | "$py" -c 'import json,sys; print(round(json.load(sys.stdin)["charsPerSecond"]))')" >&2
}

run_side() {
  local side="$1" h="$2" b="$3"
  local args=(--hidden "$h" --batch "$b" --k "$k" --seconds "$seconds" --threads "$threads")
  case "$side" in
    pytorch) record pytorch "${h}x${b}" "$py" benchmarks/pytorch/charlm_bench.py "${args[@]}" ;;
    native) record native "${h}x${b}" env TBPTT_BLAS=openblas "${tbptt[@]}" bench charlm "${args[@]}" ;;
    managed) record managed "${h}x${b}" env TBPTT_BLAS=managed "${tbptt[@]}" bench charlm "${args[@]}" ;;
  esac
}

echo "sgemm rate (n = 1024, $threads threads) ..." >&2
"${tbptt[@]}" bench gemm --n 1024 --threads "$threads" >"$out/gemm.json"

for ((rep = 1; rep <= reps; rep++)); do
  # Alternate the order of the sides between repetitions so that neither always runs first.
  if ((rep % 2 == 1)); then sides="pytorch native managed"; else sides="managed native pytorch"; fi
  for config in $configs; do
    h="${config%x*}" b="${config#*x}"
    echo "repetition $rep/$reps, H = $h, B = $b" >&2
    for side in $sides; do run_side "$side" "$h" "$b"; done
  done
done

"$py" benchmarks/summarize.py "$runs" "$out/gemm.json" --reps "$reps" --seconds "$seconds" --threads "$threads" --k "$k"
echo "Load average (1, 5, 15 min) before the runs: $load0 on $(nproc) cores; after: $(cut -d' ' -f1-3 /proc/loadavg)."
