#!/usr/bin/env bash
# Pack the training faces for a lent GPU machine (modeling/research/device_train.sh unpacks them there; the device tool's
# `run` takes them with carry [".devdata"]): FER2013's train/ and val/ as they are, and the aligned wild faces
# (docs/model-card.md, "Recipe") as the 48 px grey PNGs training reads from them (modeling.datasets.shrink_folder,
# lossless), in one xz-compressed tar of about 50 MB: the working tree that travels may hold 64 MiB.
#   bash modeling/research/device_data.sh [FER2013_DIR] [WILD_FACES_DIR] [OUT_TAR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fer=$(realpath "${1:-$root/../shared/datasets/fer2013}")
wild=$(realpath "${2:-$root/.cache/wild_aligned/A}")
tarball=$(realpath -m "${3:-$root/.devdata/faces.tar.xz}")
python=${PYTHON:-$root/.venv/bin/python}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/faces" "$(dirname "$tarball")"
ln -s "$fer" "$stage/faces/fer2013"
(cd "$root" && "$python" -c "import sys; from pathlib import Path; from modeling.datasets import shrink_folder; \
shrink_folder(Path(sys.argv[1]), Path(sys.argv[2]), 48)" "$wild" "$stage/faces/wild")
tar -C "$stage" -chf - faces/fer2013/train faces/fer2013/val faces/wild | xz -T0 -6 > "$tarball"
du -h "$tarball"
