#!/usr/bin/env bash
# Train several networks at once on a lent GPU machine, through the device tool's `run` with carry [".devdata"]:
#   OUT=... DEADLINE=480 bash modeling/research/device_train.sh JOBS
# .devdata/faces.tar.xz holds faces/train (FER+ Training's images with one or more label-SHARE.csv files, from
# modeling/research/blend_labels.py --copy-as webp), faces/val (FER+ validation with its label.csv) and faces/wild
# (the aligned web faces of half A, class folders); modeling/research/device_data.sh packs it. Each line of JOBS
# is: NAME LABELS.csv [affectwatch train options]; every job trains on faces/train read with that label file, plus
# faces/wild (--balance-sources), and validates on faces/val. The jobs run at once (the machine has torch but not
# the services' packages: the model commands alone).
#
# What two failed tries taught: give each job its share of the CPU cores (--threads; the batched augmentation runs
# on the CPU, and seven jobs of sixteen threads each made an epoch take 300 s instead of 7 s), and stop every job
# DEADLINE seconds after the start (default 480), before the device tool's own limit kills everything: the results
# come back only as files, at most a few of them, so they are packed into one, $OUT/results.tar (each job's best
# weights, metadata, curves and log), with the GPU's name. DEVICE (default cuda), PYTHON (default python3) and
# DEVDATA (default .devdata/faces.tar.xz) can be set, e.g. to try it on the CPU first.
set -euo pipefail
jobs=${1:?usage: device_train.sh JOBS}
out=${OUT:?OUT must name the folder the results go to (the device tool sets it)}
deadline=${DEADLINE:-480}
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xJf "${DEVDATA:-.devdata/faces.tar.xz}"
faces=$work/faces
results=$work/results
mkdir -p "$results"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"; } \
  > "$results/gpu.txt"
n_jobs=$(grep -cv '^\s*\(#\|$\)' "$jobs")
threads=$(( $(nproc) / n_jobs > 0 ? $(nproc) / n_jobs : 1 ))
left=$(( deadline - ($(date +%s) - started) ))
pids=()
while read -r name labels options; do
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  mkdir -p "$work/$name/train" "$results/$name"
  ln -s "$faces/val" "$work/$name/val"
  # label.csv names images relative to its folder: point them at the one copy of the faces
  sed "s|^|$faces/train/|" "$faces/train/$labels" > "$work/$name/train/label.csv"
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 timeout -s INT "$left" "${PYTHON:-python3}" -m affectwatch.cli.model train \
    --data "$work/$name" --extra-train "$faces/wild" --balance-sources --device "${DEVICE:-cuda}" --no-progress \
    --threads "$threads" --out "$results/$name/affectwatch-fer.safetensors" $options \
    > "$results/$name/train.log" 2>&1 &
  pids+=($!)
done < "$jobs"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
rm -f "$results"/*/*.ckpt  # the optimiser's state: too large to come back, and a fresh machine never resumes
tar -C "$results" -cf "$out/results.tar" .
exit $status
