#!/usr/bin/env bash
# The paper's Fig. 4/5 and Fig. 6 on HalfCheetah at a reduced scale
# (RESULTS.md): 4 methods × 3 seeds and 4 ablations × 2 seeds, budget 45,
# 200-step episodes, 20 iterations, 300 gradient steps at batch 256 per
# training call, 10 evaluation episodes. Runs JOBS runs at a time, each on
# one worker, into OUT (default runs/fig4). Existing complete runs are kept:
# an interrupted sweep resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/fig4}
JOBS=${JOBS:-2}
ITER=${ITER:-20}
APEX=${APEX:-./bin/apex}
mkdir -p "$OUT"
common="--task halfcheetah --budget 45 --iterations $ITER --episode-len 200 --train-steps 300 --batch-size 256 --eval-episodes 10 --backend cpu --workers 1"
jobs=()
for seed in 1 2 3; do
  for m in apex icem-bc icem-dagger icempi-gps; do jobs+=("$m - $seed"); done
  if [ "$seed" -le 2 ]; then
    for a in lambda-fixed no-dagger no-warmstart no-policy-samples; do jobs+=("apex $a $seed"); done
  fi
done
run() {
  read -r m a seed <<<"$1"
  name="$m-s$seed"; abl=""
  if [ "$a" != "-" ]; then name="$m-$a-s$seed"; abl="--ablation $a"; fi
  dir="$OUT/$name"
  if [ -f "$dir/metrics.csv" ] && [ "$(($(wc -l <"$dir/metrics.csv") - 1))" -ge "$ITER" ]; then
    echo "$name: done already"; return
  fi
  if [ -f "$dir/config.json" ]; then
    $APEX train --resume "$dir" >"$dir.out" 2>"$dir.err" || { echo "$name: FAILED (see $dir.err)"; return; }
  else
    $APEX train $common --method "$m" $abl --seed "$seed" --out "$dir" >"$dir.out" 2>"$dir.err" || { echo "$name: FAILED (see $dir.err)"; return; }
  fi
  echo "$name: $(tail -n 1 "$dir/metrics.csv" | cut -d, -f1-3)"
}
export -f run; export OUT ITER APEX common
printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -I{} bash -c 'run "$@"' _ {}
