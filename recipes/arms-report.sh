#!/usr/bin/env bash
# Score more stage-2 arms (runs/arm-ARM) or other runs of the stage-1 photos (runs/RUN, e.g. encoder-lite1) beside
# the floors and the bundled default on the stage-1 run's val split at 256x256, and keep the aggregate rows beside
# the docs as docs/reports/NAME.json (recipes/ablation-report.sh scores the original arms, clean and degraded).
#   bash recipes/arms-report.sh NAME ARM_OR_RUN [...]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
val="$repo/runs/valsplit-11k"
[ -d "$val" ] || bash "$repo/recipes/val-split.sh" "$stage1_run" "$val"
name="$1"
shift
models=(gray mean-ab default)
for arm in "$@"; do
    run="$repo/runs/arm-$arm"
    [ -d "$run" ] || run="$repo/runs/$arm"
    models+=("$arm=$run/checkpoints/last.pt")
done
colorize compare "${models[@]}" --data "$val" --no-full-resolution --mean-ab-data "$stage1_run/data" \
    --out "$repo/runs/$name" --no-progress --num-threads "${THREADS:-1}" > "$repo/runs/$name.log"
python "$repo/scripts/doc_tables.py" --trim "$repo/runs/$name/report.json" "$repo/docs/reports/$name.json"
