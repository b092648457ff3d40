#!/usr/bin/env bash
# Pack the training faces for a lent GPU machine (modeling/research/device_train.sh unpacks them there; the device
# tool's `run` takes them with carry [".devdata"], and the working tree that travels may hold 64 MiB in all):
#   bash modeling/research/device_data.sh [SHARE ...]     e.g. 0 0.2 0.3
# FER+ Training with one label file per FER2013 share (label-SHARE.csv, modeling/research/blend_labels.py), FER+
# validation, and the aligned web faces of half A (docs/model/experiments.md) as the 48 px grey faces training
# reads from them, all as lossless WebP (about 1.6 kB a face), in .devdata/faces.tar.xz (57 MB). SHARED (default ../shared),
# WILD (default .cache/wild_aligned/A) and DEVDATA (the tarball, default .devdata/faces.tar.xz) can be set.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
shared=${SHARED:-../shared}/datasets
wild=${WILD:-.cache/wild_aligned/A}
python=${PYTHON:-.venv/bin/python}
tarball=$(realpath -m "${DEVDATA:-.devdata/faces.tar.xz}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
faces=$stage/faces
for share in "${@:-0}"; do
  PYTHONPATH=. "$python" modeling/research/blend_labels.py "$shared/ferplus/train" "$shared/fer2013/train" \
    "$faces/train" --fer2013-share "$share" --copy-as webp
  mv "$faces/train/label.csv" "$faces/train/label-$share.csv"
done
PYTHONPATH=. "$python" modeling/research/blend_labels.py "$shared/ferplus/val" "$shared/fer2013/val" "$faces/val" \
  --fer2013-share 0 --copy-as webp
PYTHONPATH=. "$python" - "$wild" "$faces/wild" <<'PY'
import sys
from pathlib import Path

from PIL import Image

from modeling.datasets import load_faces

faces = load_faces(Path(sys.argv[1]), 48)
for image, label, path in zip(faces.images, faces.labels, faces.paths, strict=True):
    out = Path(sys.argv[2]) / label / (path.stem + ".webp")
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out, "WEBP", lossless=True, quality=100, method=6)
PY
mkdir -p "$(dirname "$tarball")"
tar -C "$stage" -cf - faces | xz -T0 -6 > "$tarball"  # xz: the tar headers of small files weigh as much as the faces
du -h "$tarball"
