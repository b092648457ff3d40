#!/usr/bin/env bash
# Train on a lent GPU machine, through the device tool's `run` with carry [".devdata"] (modeling/research/device_data.sh
# packs it):
#   bash modeling/research/device_train.sh NAME [more `affectwatch train` options, e.g. --arch facenet48-wide --epochs 80]
# Unpacks the faces, trains on FER2013 plus the weighted wild faces (--balance-sources) with the model commands
# alone (the machine has torch but not the services' packages), and leaves in $OUT/NAME the best weights, their
# metadata and curves, the log and the GPU's name. DEVICE (default cuda), PYTHON (default python3) and
# DEVDATA (default .devdata/faces.tar.xz) can be set, e.g. to try it on the CPU first.
set -euo pipefail
name=${1:?usage: device_train.sh NAME [affectwatch train options]}
shift
out=${OUT:?OUT must name the folder the results go to (the device tool sets it)}/$name
faces=$(mktemp -d)
trap 'rm -rf "$faces"' EXIT
mkdir -p "$out"
tar -C "$faces" -xJf "${DEVDATA:-.devdata/faces.tar.xz}"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"; } \
  > "$out/gpu.txt"
PYTHONUNBUFFERED=1 "${PYTHON:-python3}" -m affectwatch.cli.model train --data "$faces/faces/fer2013" \
  --extra-train "$faces/faces/wild" --balance-sources --device "${DEVICE:-cuda}" --no-progress \
  --out "$out/affectwatch-fer.safetensors" "$@" 2>&1 | tee "$out/train.log"
rm -f "$out"/*.ckpt  # the optimiser's state: too large to come back, and a fresh machine never resumes
