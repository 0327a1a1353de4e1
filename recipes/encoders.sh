#!/usr/bin/env bash
# The bigger-encoder rows of docs/model-card.md: EfficientNet-Lite0 against Lite1 (and Lite2), each from its
# ImageNet weights, L1 only at 224 px, for the same CPU budget on one thread, on the stage-1 run's photos, seed and
# split (so the same val photos stay unseen). A bigger encoder cannot start from the shared lite0 stage-1 checkpoint,
# so this is the equal-budget comparison that is possible: does it learn more per CPU minute?
#   bash recipes/encoders.sh lite0 lite1 [lite2]     # CPU_MINUTES=20 by default; resumable
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
minutes="${CPU_MINUTES:-20}"
for arm in "$@"; do
    case "$arm" in lite0|lite1|lite2) ;; *) echo "unknown arm $arm (lite0, lite1 or lite2)" >&2; exit 2 ;; esac
    out="$repo/runs/encoder-$arm"
    resume=()
    [ -f "$out/checkpoints/last.pt" ] && resume=(--resume)
    colorize train --data "$stage1_run/data" --cache-dir "$stage1_run/cache" --generator "efficientnet_$arm" \
        --size 224 --batch-size 16 --precision bf16 --max-images 20000 --val-images 400 --pretrain-epochs 1000 \
        --gan-epochs 0 --steps-per-epoch 50 --num-samples 6 --keep-every 1000 --seed 0 --no-progress \
        --num-threads 1 --cpu-minutes "$minutes" --lambda-l1 10 "${resume[@]}" --out "$out" > "$out.log" 2>&1 &
done
wait
