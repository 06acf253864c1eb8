#!/usr/bin/env bash
# Do gender-only face crops (CelebA, ../shared/data/celeba-gender) help the built-in model's gender
# answers on photos it has never seen? CelebA is split in two halves by file: one half may join the
# training data, the other is only ever tested on. Compares, with one model config (the MLP default's unless given):
#   1. utkface-a8 5-fold (UTKFace test folds; CelebA rows only ever train) without / with CelebA half A,
#      and each benchmark's fold models on CelebA half B (never trained on)
#   2. trained on everything, gender accuracy on CelebA half B (unseen) without / with half A
# Usage: bash scripts/celeba_gender_study.sh [WORKDIR [CONFIG EXTRACTORS [FOLDS]]]   (features cached in
# WORKDIR/features.sqlite). The first study used the MLP default's config (the defaults here); the fine-tuned
# model's was screened with FOLDS=0,1,2,3,4 (FOLDS: benchmark --folds; when given, step 2 is skipped; docs/MODEL.md):
#   bash scripts/celeba_gender_study.sh WORK configs/dlibtail.toml dlibtrunk,agnet,faceres 0,1,2,3,4
set -euo pipefail
W=${1:-bench-work}
CONFIG=${2:-configs/builtin.toml}
EXTRACTORS=${3:-dlib128,agnet}
FOLDS=${4:-}   # e.g. 0: fold 0 only, and no step 2
SHARED=${AGEGENDER_SHARED:-../shared}
mkdir -p "$W"
[ -f "$W/utk.csv" ] || agegender data utkface "$SHARED/data/utkface" --out "$W/utk.csv"
agegender data gender-folders "$SHARED/data/celeba-gender" --out "$W/celeba.csv"
agegender data split "$W/celeba.csv" 0 --out "$W/celeba-train.csv"   # half A: may train
agegender data split "$W/celeba.csv" 1 --out "$W/celeba-test.csv"    # half B: only ever tested on
agegender data merge "$W/utk.csv" "$W/celeba-train.csv" --out "$W/utk+celeba.csv"
feats() {  # manifest → comma-separated feature files, one per extractor
  local m=$1 files=()
  for ex in ${EXTRACTORS//,/ }; do
    agegender features "$W/$m.csv" --extractor $ex --detector aligned --out "$W/$m-$ex.npz" --cache "$W/features.sqlite" --workers 2 --quiet >&2
    files+=("$W/$m-$ex.npz")
  done
  (IFS=,; echo "${files[*]}")
}
UTK=$(feats utk); MIX=$(feats utk+celeba); TEST=$(feats celeba-test)
agegender benchmark utkface-a8 $CONFIG --manifest "$W/utk.csv" --features "$UTK" ${FOLDS:+--folds $FOLDS} --out "$W/study-a8-utk" --quiet
agegender benchmark utkface-a8 $CONFIG --manifest "$W/utk+celeba.csv" --features "$MIX" ${FOLDS:+--folds $FOLDS} --out "$W/study-a8-utk+celeba" --quiet
for b in study-a8-utk study-a8-utk+celeba; do
  echo "== $b"; sed -n 5,8p "$W/$b/report.md"
  for run in "$W/$b"/fold_*; do
    echo "== $run on CelebA half B (never trained on)"
    agegender evaluate "$run" --manifest "$W/celeba-test.csv" --features "$TEST" | sed -n 1,2p
  done
done
[ -n "$FOLDS" ] && exit 0
agegender train $CONFIG --manifest "$W/utk.csv" --features "$UTK" --out "$W/study-all-utk" --quiet
agegender train $CONFIG --manifest "$W/utk+celeba.csv" --features "$MIX" --out "$W/study-all-utk+celeba" --quiet
for run in study-all-utk study-all-utk+celeba; do
  echo "== $run on CelebA half B (never trained on)"
  agegender evaluate "$W/$run" --manifest "$W/celeba-test.csv" --features "$TEST"
done
