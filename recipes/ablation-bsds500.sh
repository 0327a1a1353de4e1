#!/usr/bin/env bash
# Every stage-2 arm, the encoder runs, the weighted runs, the previous and the current default on BSDS500 val (held
# out: reported, never used to choose), at 256x256 and full resolution, beside the floors; the aggregate rows go to
# docs/reports/ablation-bsds500-val.json for the model card.
#   PREVIOUS=runs/previous-default.safetensors bash recipes/ablation-bsds500.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
previous="${PREVIOUS:?set PREVIOUS to the previous default (git show REV:src/colorize/weights/default.safetensors)}"
models=(gray mean-ab previous="$previous" default stage1="$repo/runs/l1-11k/checkpoints/epoch_010.pt")
for arm in l1 patch projected ema feature degrade feature-degrade hints classes; do
    models+=("$arm=$repo/runs/arm-$arm/checkpoints/last.pt")
done
for run in encoder-lite0 encoder-lite1 weighted-l1; do models+=("$run=$repo/runs/$run/checkpoints/last.pt"); done
colorize compare "${models[@]}" --data "$repo/../shared/datasets/bsds500/val" --out "$repo/runs/ablation-bsds500-val" \
    --no-progress --num-threads "${THREADS:-1}" > "$repo/runs/ablation-bsds500-val.log"
python "$repo/scripts/doc_tables.py" --trim "$repo/runs/ablation-bsds500-val/report.json" \
    "$repo/docs/reports/ablation-bsds500-val.json"
