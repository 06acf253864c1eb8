#!/usr/bin/env bash
# Retrain a built-in model reproducibly and write it into the package.
# Usage: bash scripts/train_builtin.sh [WORKDIR] [MODEL]
#   MODEL = default  dlib's last stage fine-tuned + agnet + faceres, UTKFace + 2 phone-like copies of each face + each
#                    face once more as photos are aligned (retina5 views) (configs/dlibtail.toml) → src/agegender/data/model
#           64px     a candidate: the default + a 64 px copy of each sharp 200 px crop (UTKFace's children and elderly),
#                    so sharpness stops telling age (docs/BENCHMARKS.md) → WORKDIR/model-64px (not shipped)
#           celeba   a candidate: the default + half A of the CelebA gender crops (../shared/data/celeba-gender, gender
#                    only; with their copies and views), half B never trained on: the check (docs/MODEL.md)
#                    → WORKDIR/model-celeba (not shipped)
#           faceres160 a candidate: the default with faceres-deep reading 160 px chips (`faceres160`, about half its
#                    cost; behind the default on folds 0-3, docs/BENCHMARKS.md) → WORKDIR/model-faceres160 (not shipped)
#           faceres  the previous default (the same without the retina5 views) → WORKDIR/model-faceres (kept reproducible)
#           dlibtail the one before (without faceres either) → WORKDIR/model-dlibtail (kept reproducible, not shipped)
#           fast     the age network's last stage fine-tuned on agnetmap + MLP for age and years, gender one linear
#                    layer on agnet's outputs, on the default's data (configs/agnettail.toml) → src/agegender/data/model-fast
#           fast-logreg the previous fast model: logistic regression on agnet with a years head (configs/logreg.toml)
#                    → WORKDIR/model-fast-logreg (kept reproducible, not shipped)
#           mlp      the previous default (MLP on dlib128 + agnet, configs/builtin.toml) → WORKDIR/model-mlp (kept
#                    reproducible, not shipped)
# Needs ../shared (UTKFace) and the train + export extras. Features are cached in WORKDIR, so reruns are quick.
set -euo pipefail
W=${1:-bench-work}
MODEL=${2:-default}
SHARED=${AGEGENDER_SHARED:-../shared}
mkdir -p "$W"
agegender data utkface "$SHARED/data/utkface" --out "$W/utk.csv"
feats() {  # feats MANIFEST PREFIX EXTRACTOR… → comma-separated feature files (PREFIX …-r5: retina5 chips)
  local man=$1 prefix=$2; shift 2; local files=() how=(--detector aligned)   # face crops, as always cut
  [[ "$prefix" == *-r5 ]] && how=(--detector retinaface --landmarks retina5)
  for ex in "$@"; do
    agegender features "$man" --extractor "$ex" "${how[@]}" --out "$W/$prefix-$ex.npz" --cache "$W/features-$ex.sqlite" --workers 2 --quiet >&2
    files+=("$W/$prefix-$ex.npz")
  done
  (IFS=,; echo "${files[*]}")
}
case "$MODEL" in
  default|64px|celeba|faceres160|faceres|dlibtail|fast)
    agegender data augment "$W/utk.csv" "$W/aug" --copies 2 --workers 2 --quiet --out "$W/utk-aug.csv"
    agegender data merge "$W/utk.csv" "$W/utk-aug.csv" --out "$W/utk+aug.csv"
    MAN="$W/utk+aug.csv"; CONFIG=configs/dlibtail.toml; EXTRA=(--weights fp16)
    case "$MODEL" in
      default) F=$(feats "$MAN" "utk+aug" dlibtrunk agnet faceres); OUT=src/agegender/data/model
               # utk+aug.csv begins with utk.csv's rows, so these views line up with the originals (checked by key)
               V=$(feats "$W/utk.csv" utk-r5 dlibtrunk agnet faceres) ;;
      64px)    agegender data augment "$W/utk.csv" "$W/64px" --shrink 64 --workers 2 --quiet --out "$W/utk-64px.csv"
               agegender data merge "$W/utk+aug.csv" "$W/utk-64px.csv" --out "$W/utk+aug+64px.csv"
               MAN="$W/utk+aug+64px.csv"; F=$(feats "$MAN" "utk+aug+64px" dlibtrunk agnet faceres); OUT="$W/model-64px"
               V=$(feats "$W/utk.csv" utk-r5 dlibtrunk agnet faceres) ;;   # the manifest begins with utk.csv's rows
      celeba)  agegender data gender-folders "$SHARED/data/celeba-gender" --out "$W/celeba.csv"
               agegender data split "$W/celeba.csv" 0 --out "$W/celeba-a.csv"   # half B (part 1): the check
               agegender data augment "$W/celeba-a.csv" "$W/celeba-aug" --copies 2 --workers 2 --quiet --out "$W/celeba-a-aug.csv"
               agegender data merge "$W/utk.csv" "$W/celeba-a.csv" --out "$W/utk+celeba-a.csv"
               agegender data merge "$W/utk+celeba-a.csv" "$W/utk-aug.csv" "$W/celeba-a-aug.csv" --out "$W/utk+celeba-a+aug.csv"
               MAN="$W/utk+celeba-a+aug.csv"; F=$(feats "$MAN" "utk+celeba-a+aug" dlibtrunk agnet faceres); OUT="$W/model-celeba"
               V=$(feats "$W/utk+celeba-a.csv" utk+celeba-a-r5 dlibtrunk agnet faceres) ;;   # the manifest begins with these rows
      faceres160) F=$(feats "$MAN" "utk+aug" dlibtrunk agnet faceres160); OUT="$W/model-faceres160"
               V=$(feats "$W/utk.csv" utk-r5 dlibtrunk agnet faceres160) ;;
      fast)    F=$(feats "$MAN" "utk+aug" agnetmap); CONFIG=configs/agnettail.toml; OUT=src/agegender/data/model-fast
               V=$(feats "$W/utk.csv" utk-r5 agnetmap) ;;
      faceres) F=$(feats "$MAN" "utk+aug" dlibtrunk agnet faceres); OUT="$W/model-faceres" ;;
      *) F=$(feats "$MAN" "utk+aug" dlibtrunk agnet); OUT="$W/model-dlibtail" ;;
    esac ;;
  fast-logreg)
    MAN="$W/utk.csv"; F=$(feats "$MAN" utk agnet); CONFIG=configs/logreg.toml
    OUT="$W/model-fast-logreg"; EXTRA=() ;;
  mlp)
    MAN="$W/utk.csv"; F=$(feats "$MAN" utk dlib128 agnet); CONFIG=configs/builtin.toml
    OUT="$W/model-mlp"; EXTRA=() ;;
  *) echo "unknown model $MODEL (default, 64px, celeba, faceres160, faceres, dlibtail, fast, fast-logreg or mlp)" >&2; exit 2 ;;
esac
SET=(); [ "$MODEL" = fast-logreg ] && SET=(--set model.years_head=true)
[ -n "${V:-}" ] && SET+=(--views "$V")
rm -rf "$W/builtin-$MODEL" "$W/a8-builtin-$MODEL"
agegender train "$CONFIG" --manifest "$MAN" --features "$F" --set 'data.protocol="all"' "${SET[@]}" --out "$W/builtin-$MODEL" --quiet
agegender benchmark utkface-a8 "$CONFIG" --manifest "$MAN" --features "$F" "${SET[@]}" --out "$W/a8-builtin-$MODEL" --quiet
rm -rf "$OUT"
agegender export "$W/builtin-$MODEL" --format onnx litert --out "$OUT" --metrics "$W/a8-builtin-$MODEL/report.json" "${EXTRA[@]}"
agegender bench age-check "$W/a8-builtin-$MODEL" --write-model "$OUT"    # the age check's thresholds (docs/MODEL.md)
