#!/usr/bin/env bash
# Stage-2 ablation of docs/model-card.md: each arm starts from one shared stage-1 (L1) checkpoint and trains for the
# same CPU budget (--cpu-minutes, one thread each), then is scored with `colorize compare` on the stage-1 run's own
# seeded val split (recipes/val-split.sh). BSDS500 val is never used to choose.
#   STAGE1=runs/l1-11k/checkpoints/epoch_015.pt bash recipes/ablation.sh ARM [ARM ...]
# Arms: l1 (L1 only, the reference), patch (PatchGAN), projected (projected D), ema (projected + EMA),
#       feature (projected + feature loss), degrade (projected + degraded L), feature-degrade (both), hints (L1 only with user hints
#       sampled from the real colours: against l1, what hints cost with none given), classes (projected, with ab
#       predicted as classes over quantised bins and a rebalanced cross-entropy at lambda 1 in place of 10 x L1).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stage1="${STAGE1:?set STAGE1 to the shared stage-1 checkpoint}"
minutes="${CPU_MINUTES:-18}"
stage1_run="${STAGE1_RUN:-$repo/runs/l1-11k}"
# The stage-1 run's own photo links and cache: the same files, so the same seeded val split and no re-decoding.
common=(--data "$stage1_run/data" --cache-dir "$stage1_run/cache" --init-from "$stage1"
        --generator efficientnet_lite0 --size 192 --batch-size 16 --precision bf16 --max-images 20000 --val-images 400 --steps-per-epoch 50 --num-samples 6 --keep-every 1000
        --seed 0 --no-progress --num-threads 1 --cpu-minutes "$minutes" --lambda-l1 10)
gan=(--gan-epochs 1000)
for arm in "$@"; do
    out="$repo/runs/arm-$arm"
    case "$arm" in
        l1) extra=(--pretrain-epochs 1000 --gan-epochs 0) ;;
        patch) extra=("${gan[@]}" --discriminator patch) ;;
        projected) extra=("${gan[@]}" --discriminator projected) ;;
        ema) extra=("${gan[@]}" --discriminator projected --ema-decay 0.999) ;;
        feature) extra=("${gan[@]}" --discriminator projected --feature-loss 1) ;;
        degrade) extra=("${gan[@]}" --discriminator projected --degrade) ;;
        feature-degrade) extra=("${gan[@]}" --discriminator projected --feature-loss 1 --degrade) ;;
        hints) extra=(--pretrain-epochs 1000 --gan-epochs 0 --hints) ;;
        classes) extra=("${gan[@]}" --discriminator projected --generator-option colour_classes=true --lambda-l1 1) ;;
        *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
    colorize train "${common[@]}" "${extra[@]}" --out "$out" > "$out.log" 2>&1 &
done
wait
