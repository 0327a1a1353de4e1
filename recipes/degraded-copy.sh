#!/usr/bin/env bash
# A degraded copy of a folder of colour photos, to score how a model copes with old-photo damage: each photo's
# lightness goes through colorize.degrade (seeded by its position in the sorted folder), its colours stay the
# clean photo's, so `colorize compare` scores the colour a model predicts from damaged gray input.
#   bash recipes/degraded-copy.sh SRC_DIR OUT_DIR
set -euo pipefail
python - "$1" "$2" <<'PY'
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorize.degrade import degrade_l
from colorize.images import find_images
from colorize.lab import model_space_to_rgb, rgb_to_model_space, tensor_to_uint8, uint8_to_tensor

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
files = find_images(src)
for i, path in enumerate(files):
    with Image.open(path) as img:
        rgb = uint8_to_tensor(np.array(img.convert("RGB")))
    l_norm, ab = rgb_to_model_space(rgb)
    damaged = degrade_l(l_norm, torch.Generator().manual_seed(i))
    Image.fromarray(tensor_to_uint8(model_space_to_rgb(damaged, ab))[0].numpy()).save(out / f"{path.stem}.png")
print(f"{out}: {len(files)} degraded copies of {src}")
PY
