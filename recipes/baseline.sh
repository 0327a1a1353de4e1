#!/usr/bin/env bash
# The design's baseline for docs/model-card.md: the pix2pix U-Net (8 downsamplings at 256 px, dropout as the
# noise) trained from scratch with the GAN + 100 x L1, on the same photos as recipes/previous-default.sh. Short "epochs"
# (--steps-per-epoch) give a checkpoint every couple of minutes, so the run can be stopped at any wall-clock budget:
# the last checkpoint is the baseline (colorize.models.load_model reads it directly).
#   bash recipes/baseline.sh           # start, or resume after an interruption (same command)
set -euo pipefail
source "$(dirname "$0")/training-data.sh" baseline
exec colorize train --data "$data" --out "$run" \
    --generator pix2pix_unet --size 256 --batch-size 16 --precision bf16 \
    --gan-epochs "${GAN_EPOCHS:-400}" --steps-per-epoch 10 \
    --val-images 48 --num-samples 6 --keep-every 50 --seed 0 --no-progress \
    --num-threads "${THREADS:-1}" "${resume[@]}"
