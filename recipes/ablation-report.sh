#!/usr/bin/env bash
# Score the arms of recipes/ablation.sh side by side with the floors, the stage-1 checkpoint they started from and
# the bundled model, on the stage-1 run's own val split (clean, and a degraded copy), at 256x256, and keep the
# aggregate rows beside the docs (docs/reports/ablation-*.json) for the model card's tables.
#   bash recipes/ablation-report.sh ARM [ARM ...]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
stage1="${STAGE1:?set STAGE1 to the shared stage-1 checkpoint}"
val="$repo/runs/valsplit-11k"
[ -d "$val" ] || bash "$repo/recipes/val-split.sh" "$stage1_run" "$val"
[ -d "$val-degraded" ] || bash "$repo/recipes/degraded-copy.sh" "$val" "$val-degraded"
models=(gray mean-ab bundled=default stage1="$stage1")
for arm in "$@"; do models+=("$arm=$repo/runs/arm-$arm/checkpoints/last.pt"); done
for set in "" -degraded; do  # side by side, one thread each
    colorize compare "${models[@]}" --data "$val$set" --no-full-resolution --mean-ab-data "$stage1_run/data" \
        --out "$repo/runs/ablation-valsplit$set" --no-progress --num-threads 1 > "$repo/runs/ablation-valsplit$set.log" &
done
wait
for set in "" -degraded; do
    python "$repo/scripts/doc_tables.py" --trim "$repo/runs/ablation-valsplit$set/report.json" \
        "$repo/docs/reports/ablation-valsplit$set.json"
done
