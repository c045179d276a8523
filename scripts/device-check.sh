#!/usr/bin/env bash
# The GPU figures in one file: the adapter, each task's kernel compile (first
# call), apex bench rollout rows at 4096/16384/65536, and whole planning
# steps (iCEMπ) at budget 100 and 300 and at issue 14's P × N sizes.
# A GPU runs the lean kernel (gpu.KernelAuto); the rollout rows are also
# measured in the specialised one.
# Meant for a machine with an NVIDIA GPU (about 5 minutes, plus the parity
# tests of every task in the lean kernel, which lavapipe runs only for the
# humanoid and the doors); on lavapipe QUICK=1 runs the same steps at small
# sizes as a smoke test, without the parity tests (make test runs them).
#
#   scripts/device-check.sh [OUT]        (default device-check.txt)
#
# PART=figures or PART=parity runs one half (each fits a 10-minute call on a
# lent machine); the default runs both. The parity tests run from
# bin/gpu.test when it exists (go test -c -o bin/gpu.test ./gpu), in gpu/ as
# go test would, else with go test.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-device-check.txt}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/apex-xdg}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
APEX=${APEX:-./bin/apex}
if [ ! -x "$APEX" ]; then go build -o bin/apex ./cmd/apex || exit 1; APEX=./bin/apex; fi
if [ "${QUICK:-0}" = 1 ]; then
  BATCH=64,256; PSIZES=1x40,4x40; BUDGETS=1x40; TASKS="halfcheetah door-hook"; STEPS=1
else
  BATCH=4096,16384,65536; PSIZES=1x4096,1x16384,1x65536,64x100; BUDGETS=1x40,64x40,1x123,64x123
  TASKS="halfcheetah door-hook fetchpickplace humanoidstandup door"; STEPS=3
fi
PART=${PART:-all}
case "$PART" in all|figures|parity) ;; *) echo "device-check.sh: PART=$PART: want all, figures or parity" >&2; exit 2;; esac
fail=0
run() { echo "\$ $*"; "$@" || { echo "FAILED (exit $?): $*"; fail=1; }; echo; }
{
  echo "== apex device check, $(date -u +%FT%TZ), $(uname -n), $(nproc) cores"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  echo
  if [ "$PART" != parity ]; then
    echo "== kernel compile per task (first call of the GPU evaluator)"
    for t in $TASKS; do run timeout 600 "$APEX" bench --task "$t" --backend gpu --batch 64 --horizon 1; done
    echo "== rollouts: GPU vs CPU, HalfCheetah, horizon 30"
    run "$APEX" bench --task halfcheetah --backend all --batch "$BATCH" --check
    if [ "${QUICK:-0}" != 1 ]; then
      echo "== the same rollouts in the specialised kernel (a GPU runs the lean one by default: BENCHMARKS.md)"
      run "$APEX" bench --task halfcheetah --backend gpu --kernel specialized --batch "$BATCH"
    fi
    echo "== whole planning steps at budget 100 (N 40) and 300 (N 123), P = 1 and 64: host planner on each backend, and the device planner"
    run "$APEX" bench --planner --backend all --sizes "$BUDGETS" --steps "$STEPS"
    run "$APEX" bench --planner --plan-on device --backend gpu --sizes "$BUDGETS" --steps "$STEPS"
    echo "== whole planning steps at P × N of issue 14: host and device planner"
    run "$APEX" bench --planner --plan-on both --backend gpu --guided=false --sizes "$PSIZES" --steps "$STEPS"
    echo "== a closed-loop episode with the device planner (10 steps)"
    run "$APEX" plan --task halfcheetah --budget 100 --steps 10 --backend gpu --plan-on device --profile
  fi
  if [ "$PART" != figures ] && [ "${QUICK:-0}" != 1 ]; then
    echo "== parity of every task's kernel with the Go engine on this device (one step, a short rollout; the cheetah in every kernel shape; a GPU runs every task in the lean kernel: TestLeanKernel)"
    parity='^(TestTaskStepParity|TestTaskRolloutParity|TestStepParity|TestLeanKernel)$'
    if [ -x bin/gpu.test ]; then run timeout 540 env -C gpu ../bin/gpu.test -test.count=1 -test.v -test.run "$parity"
    else run timeout 540 go test -count=1 -v -run "$parity" ./gpu; fi
    echo "== the Adroit door planned on this device (budget 45, 5 steps)"
    run timeout 300 "$APEX" plan --task door --budget 45 --steps 5 --backend gpu
  fi
  exit $fail
} 2>&1 | tee "$OUT"
status=${PIPESTATUS[0]}
echo "device check written to $OUT"
exit "$status"
