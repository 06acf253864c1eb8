#!/usr/bin/env bash
# Retrain the built-in model reproducibly and write it into the package (src/agegender/data/model).
# Usage: bash scripts/train_builtin.sh [WORKDIR] [FEATURES]   FEATURES: "dlib128,agnet" (default) or "agnet" (fast model)
# Needs ../shared (UTKFace) and the train extra. Features are cached in WORKDIR, so reruns are quick.
set -euo pipefail
W=${1:-bench-work}
FEATS=${2:-dlib128,agnet}
SHARED=${AGEGENDER_SHARED:-../shared}
OUT=src/agegender/data/model
CONFIG=configs/builtin.toml
if [ "$FEATS" = "agnet" ]; then OUT=src/agegender/data/model-fast; CONFIG=configs/logreg.toml; fi
mkdir -p "$W"
agegender data utkface "$SHARED/data/utkface" --out "$W/utk.csv"
files=()
for ex in ${FEATS//,/ }; do
  agegender features "$W/utk.csv" --extractor "$ex" --out "$W/utk-$ex.npz" --cache "$W/features.sqlite" --quiet
  files+=("$W/utk-$ex.npz")
done
list=$(IFS=,; echo "${files[*]}")
tag=${FEATS//,/+}
rm -rf "$W/builtin-$tag"
agegender train "$CONFIG" --manifest "$W/utk.csv" --features "$list" --out "$W/builtin-$tag" --quiet
agegender benchmark utkface-a8 "$CONFIG" --manifest "$W/utk.csv" --features "$list" --out "$W/a8-builtin-$tag" --quiet
rm -rf "$OUT"
agegender export "$W/builtin-$tag" --format onnx litert --out "$OUT" --metrics "$W/a8-builtin-$tag/report.json"
