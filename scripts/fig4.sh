#!/usr/bin/env bash
# The paper's Fig. 4/5 and Fig. 6 on HalfCheetah at a reduced scale
# (RESULTS.md): 4 methods × 3 seeds and 4 ablations × 2 seeds, budget 45,
# 200-step episodes, 20 iterations (ablations ABL_ITER), 300 gradient steps at batch 256 per
# training call, 10 evaluation episodes; and APEX with --label elite-mean
# (2 seeds). Runs JOBS runs at a time, each on
# one worker, into OUT (default runs/fig4). Existing complete runs are kept:
# an interrupted sweep resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/fig4}
JOBS=${JOBS:-2}
ITER=${ITER:-20}
APEX=${APEX:-./bin/apex}
mkdir -p "$OUT"
common="--task halfcheetah --budget 45 --episode-len 200 --train-steps 300 --batch-size 256 --eval-episodes 10 --backend cpu --workers 1"
# Order: two seeds of the main methods, the elite-mean label (ABL_ITER
# iterations, default 20), the third seed of the main methods, then the
# ablations (ABL_ITER iterations, two seeds); so that a sweep cut short has
# whole rows of the main figure first. Fields: method ablation seed label iterations.
ABL_ITER=${ABL_ITER:-20}
jobs=()
for seed in 1 2; do
  for m in apex icem-bc icem-dagger icempi-gps; do jobs+=("$m - $seed best $ITER"); done
done
for seed in 1 2; do jobs+=("apex - $seed elite-mean $ABL_ITER"); done
for m in apex icem-bc icem-dagger icempi-gps; do jobs+=("$m - 3 best $ITER"); done
for seed in 1 2; do
  for a in lambda-fixed no-dagger no-warmstart no-policy-samples; do jobs+=("apex $a $seed best $ABL_ITER"); done
done
run() {
  read -r m a seed label iters <<<"$1"
  name="$m"; abl="--label $label"
  if [ "$a" != "-" ]; then name="$m-$a"; abl="$abl --ablation $a"; fi
  if [ "$label" != "best" ]; then name="$name-$label"; fi
  name="$name-s$seed"
  dir="$OUT/$name"
  if [ -f "$dir/metrics.csv" ] && [ "$(($(wc -l <"$dir/metrics.csv") - 1))" -ge "$iters" ]; then
    echo "$name: done already"; return
  fi
  if pgrep -f -- "$dir( |\$)" >/dev/null; then
    echo "$name: running in another process; skipped"; return
  fi
  if [ -f "$dir/config.json" ]; then
    $APEX train --resume "$dir" --iterations "$iters" >"$dir.out" 2>"$dir.err" || { echo "$name: FAILED (see $dir.err)"; return; }
  else
    $APEX train $common --iterations "$iters" --method "$m" $abl --seed "$seed" --out "$dir" >"$dir.out" 2>"$dir.err" || { echo "$name: FAILED (see $dir.err)"; return; }
  fi
  echo "$name: $(tail -n 1 "$dir/metrics.csv" | cut -d, -f1-3)"
}
export -f run; export OUT ITER ABL_ITER APEX common
printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -I{} bash -c 'run "$@"' _ {}
