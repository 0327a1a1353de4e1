# Sourced by the training recipes: sets $repo, $run and $data, a folder of links to the training photos
# (BSDS500 train and the ImageNet sample; Imagenette too with WITH_IMAGENETTE=1), so the data sets are read in place and never copied.
# BSDS500 val is left out: it is the held-out set of docs/model-card.md.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
datasets="${DATASETS:-$repo/../shared/datasets}"
run="${RUN:-$repo/runs/$1}"
data="$run/data"
mkdir -p "$data"
ln -sfn "$datasets/bsds500/train" "$data/bsds500-train"
ln -sfn "$datasets/imagenet-sample/train" "$data/imagenet-sample-train"
if [ "${WITH_IMAGENETTE:-0}" = 1 ]; then  # the ~9.5k Imagenette photos (recipes/default.sh, the ablation)
    ln -sfn "$datasets/imagenette/train" "$data/imagenette-train"
fi
resume=()
if [ -f "$run/checkpoints/last.pt" ]; then resume=(--resume); fi
