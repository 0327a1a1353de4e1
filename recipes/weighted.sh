#!/usr/bin/env bash
# The `weighted` rows of docs/model-card.md: stage 2 from the shared stage-1 checkpoint (as recipes/ablation.sh), for
# 60 CPU-minutes, with the natural-photo folders (BSDS500 train, the ImageNet sample: 947 of the 9,863 train photos)
# drawn 8x as often as Imagenette's, so about 46 % of what the model sees is natural photos instead of 10 %.
# Same seed and files as stage 1, so the same seeded val split stays unseen.
#   bash recipes/weighted.sh feature l1      # the candidate and its L1-only reference, in parallel; resumable
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
stage1="${STAGE1:-$stage1_run/checkpoints/epoch_010.pt}"
minutes="${CPU_MINUTES:-60}"
weights=(--folder-weight bsds500-train=8 imagenet-sample-train=8)
common=(--data "$stage1_run/data" --cache-dir "$stage1_run/cache"
        --generator efficientnet_lite0 --size 192 --batch-size 16 --precision bf16 --max-images 20000 --val-images 400
        --steps-per-epoch 50 --num-samples 6 --keep-every 10 --seed 0 --no-progress --num-threads 1
        --cpu-minutes "$minutes" --lambda-l1 10 "${weights[@]}")
for arm in "$@"; do
    out="$repo/runs/weighted-$arm"
    case "$arm" in
        feature) extra=(--gan-epochs 1000 --discriminator projected --feature-loss 1) ;;
        l1) extra=(--pretrain-epochs 1000 --gan-epochs 0) ;;
        *) echo "unknown arm $arm (feature or l1)" >&2; exit 2 ;;
    esac
    start=(--init-from "$stage1")
    [ -f "$out/checkpoints/last.pt" ] && start=(--resume)
    colorize train "${common[@]}" "${extra[@]}" "${start[@]}" --out "$out" > "$out.log" 2>&1 &
done
wait
