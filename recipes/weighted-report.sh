#!/usr/bin/env bash
# Score recipes/weighted.sh's runs beside the floors, the bundled model and the unweighted feature arm: on the
# stage-1 run's val split (all of it, and its natural photos alone: the BSDS500-train and ImageNet-sample share),
# where the candidate is judged, then once on BSDS500 val (held out, never used to choose); keep the aggregate rows
# beside the docs and write the targets table (scripts/targets.py).
#   bash recipes/weighted-report.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
val="$repo/runs/valsplit-11k"
[ -d "$val" ] || bash "$repo/recipes/val-split.sh" "$stage1_run" "$val"
[ -d "$val-natural" ] || bash "$repo/recipes/val-split.sh" "$stage1_run" "$val-natural" bsds500-train \
    imagenet-sample-train
weighted=(weighted="$repo/runs/weighted-feature/checkpoints/last.pt"
          weighted-l1="$repo/runs/weighted-l1/checkpoints/last.pt")
colorize compare gray mean-ab bundled=default feature="$repo/runs/arm-feature/checkpoints/last.pt" "${weighted[@]}" \
    --data "$val" --no-full-resolution --mean-ab-data "$stage1_run/data" --out "$repo/runs/weighted-valsplit" \
    --no-progress --num-threads 1 > "$repo/runs/weighted-valsplit.log" &
colorize compare gray mean-ab bundled=default feature="$repo/runs/arm-feature/checkpoints/last.pt" "${weighted[@]}" \
    --data "$val-natural" --no-full-resolution --mean-ab-data "$stage1_run/data" \
    --out "$repo/runs/weighted-valsplit-natural" --no-progress --num-threads 1 > "$repo/runs/weighted-natural.log" &
wait
colorize compare gray mean-ab bundled=default "${weighted[@]}" --data "$repo/../shared/datasets/bsds500/val" \
    --out "$repo/runs/weighted-bsds500-val" --no-progress --num-threads 2 > "$repo/runs/weighted-bsds500-val.log"
for name in weighted-valsplit weighted-valsplit-natural weighted-bsds500-val; do
    python "$repo/scripts/doc_tables.py" --trim "$repo/runs/$name/report.json" "$repo/docs/reports/$name.json"
done
python "$repo/scripts/targets.py" weighted --l1 weighted-l1 --against bundled \
    "val split=runs/weighted-valsplit/report.json" "its natural photos=runs/weighted-valsplit-natural/report.json" \
    "BSDS500 val=runs/weighted-bsds500-val/report.json" --json docs/reports/targets-weighted.json
