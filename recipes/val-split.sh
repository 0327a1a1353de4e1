#!/usr/bin/env bash
# Link a training run's own seeded val split (its colour photos only) into a folder that `colorize compare` can
# score: the photos no arm trained on, where recipes are chosen (BSDS500 val never is). With FOLDER names, only the
# val photos from those top-level subfolders of the run's --data (e.g. its natural photos, apart from Imagenette's).
#   bash recipes/val-split.sh RUN_DIR OUT_DIR [FOLDER ...]
set -euo pipefail
python - "$@" <<'PY'
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from colorize.data import split_files
from colorize.images import find_images, is_grayscale

run, out, folders = Path(sys.argv[1]), Path(sys.argv[2]), set(sys.argv[3:])
config = json.loads((run / "config.json").read_text())
data = Path(config["data"])
split = split_files(find_images(data), max_images=config["max_images"], val_images=config["val_images"],
                    val_fraction=config["val_fraction"], seed=config["seed"])
out.mkdir(parents=True, exist_ok=True)
kept = 0
for i, path in enumerate(split.val):
    if folders and Path(path).relative_to(data).parts[0] not in folders:
        continue
    with Image.open(path) as img:
        if is_grayscale(np.asarray(img.convert("RGB"))):
            continue
    link = out / f"{i:05d}-{path.name}"
    if not link.exists():
        link.symlink_to(path.resolve())
    kept += 1
print(f"{out}: {kept} colour photos of the {len(split.val)} in the val split of {run}"
      + (f" (from {', '.join(sorted(folders))})" if folders else ""))
PY
