#!/usr/bin/env bash
# The screening runs behind `charlm train`'s defaults (issue 13, point 5): each is the README's 10-minute command
# with the flags of its line below changed, run one after another on an otherwise idle machine (2 threads, the
# managed kernel, as on a fresh machine). A run whose summary.json exists is skipped, so the script resumes.
#
#   docs/results/ten-minutes/screen.sh [name …]     (no names: every line)
set -euo pipefail
cd "$(dirname "$0")/../../.."
tbptt=(dotnet "${TBPTT_DLL:-src/Tbptt.Cli/bin/Release/net10.0/tbptt.dll}")
export TBPTT_BLAS=${TBPTT_BLAS:-managed}
runs=(
  "2x512       --layers 2 --hidden 512"
  "2x384       --layers 2 --hidden 384"
  "2x256       --layers 2 --hidden 256"
  "3x256       --layers 3 --hidden 256"
  # second round, on the best size of the first
  "2x256-lr4e-3   --layers 2 --hidden 256 --lr 0.004"
  "2x256-dropout0 --layers 2 --hidden 256 --dropout 0"
  "2x256-k50      --layers 2 --hidden 256 --k 50"
  # third round: the two changes that helped, together, and a higher peak
  "2x256-lr4e-3-dropout0   --layers 2 --hidden 256 --lr 0.004 --dropout 0"
  "2x256-lr8e-3-dropout0   --layers 2 --hidden 256 --lr 0.008 --dropout 0"
)
for line in "${runs[@]}"; do
  read -r name flags <<<"$line"
  if [[ $# -gt 0 && ! " $* " == *" $name "* ]]; then continue; fi
  out=docs/results/ten-minutes/screen/$name
  [[ -f $out/summary.json ]] && continue
  rm -rf "$out"
  echo "$(date -u +%H:%M:%S) $name: $flags (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  # shellcheck disable=SC2086 # the flags are words
  "${tbptt[@]}" charlm train --corpus datasets/tinyshakespeare/input.txt --minutes 10 $flags --out "$out" >/dev/null
done
