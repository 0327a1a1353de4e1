#!/usr/bin/env bash
# Bundle a finished run as the package's default model (fp16 safetensors) and score it on BSDS500 val, which
# training never saw:   bash recipes/bundle.sh [RUN_DIR] [BASELINE_RUN_DIR]
# The pix2pix baseline row is added when BASELINE_RUN_DIR holds a checkpoint; PREVIOUS=FILE adds a row for the
# model being replaced (e.g. `git show HEAD:src/colorize/weights/default.safetensors > old.safetensors`).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
datasets="${DATASETS:-$repo/../shared/datasets}"
run="${1:-$repo/runs/default}"
# The mean-ab floor: the built-in colour (README, "Evaluating"), or the mean of MEAN_AB_DATA's photos when set.
mean_ab=()
if [ -n "${MEAN_AB_DATA:-}" ]; then mean_ab=(--mean-ab-data "$MEAN_AB_DATA"); fi
baseline="${2:-$repo/runs/baseline}"

export_fp16() {  # a run's checkpoint (its moving average when it kept one) -> fp16 safetensors
    python - "$1" "$2" <<'PY'
import sys
from colorize.models import load_model, save_generator
save_generator(load_model(sys.argv[1]), sys.argv[2], fp16=True)
print("wrote", sys.argv[2])
PY
}

export_fp16 "$run/checkpoints/last.pt" "$repo/src/colorize/weights/default.safetensors"
models=(gray mean-ab)
if [ -n "${PREVIOUS:-}" ]; then models+=(previous="$PREVIOUS"); fi
if [ -f "$baseline/checkpoints/last.pt" ]; then
    export_fp16 "$baseline/checkpoints/last.pt" "$baseline/baseline.safetensors"
    models+=(baseline="$baseline/baseline.safetensors")
fi
colorize compare "${models[@]}" default \
    --data "$datasets/bsds500/val" "${mean_ab[@]}" --out "$repo/runs/model-card" --no-progress
# The aggregate rows go beside the docs, and README's and the model card's tables are rewritten from them.
python "$repo/scripts/doc_tables.py" --trim "$repo/runs/model-card/report.json" "$repo/docs/reports/bsds500-val.json"
