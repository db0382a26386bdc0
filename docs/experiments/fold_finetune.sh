#!/usr/bin/env bash
# Issue 17 item 3, fine-tuning held out: each model of
# docs/experiments/fold_speed_correction.sh (trained on a generator whose speed
# correction never saw the fold's two people) fine-tuned on the other six
# real people (5 train + 1 validation, `split` column of subjects.csv) with
# configs/prior/finetune.py, then evaluated on the fold's two people.
#   python docs/experiments/pair_mae_table.py runs/folds/fold*/ft_pretrained/eval/metrics.json
# STATS=finetune refits the normalisation and cycle regression on the 5 people.
set -euo pipefail
REAL=${REAL:-../shared/data/fukuchi2018/wbds_multispeed/folder}
OUT=${OUT:-runs/folds}
STEPS=${STEPS:-1000}
# finetune: normalisation and reference (cycle regression) refitted on the
# 5 real training people; pretrained: kept from the synthetic population.
STATS=${STATS:-pretrained}
PEOPLE=(WBDS01 WBDS02 WBDS11 WBDS25 WBDS30 WBDS33 WBDS35 WBDS41)
FOLDS=("WBDS01 WBDS25" "WBDS02 WBDS30" "WBDS11 WBDS33" "WBDS35 WBDS41")
for f in 0 1 2 3; do
  held=(${FOLDS[$f]})
  D=$OUT/fold$f/ft_$STATS
  [[ -f $D/eval/metrics.json ]] && continue
  rm -rf "$D/raw"; mkdir -p "$D/raw"
  cp "$REAL/trials.csv" "$D/raw/trials.csv"
  validation=""
  { echo "subject,cohort,paretic_side,split"
    for p in "${PEOPLE[@]}"; do
      ln -sfn "$(realpath "$REAL/$p")" "$D/raw/$p"
      if [[ $p == "${held[0]}" || $p == "${held[1]}" ]]; then s=test
      elif [[ -z $validation ]]; then s=validation; validation=$p
      else s=train; fi
      echo "$p,able_bodied,,$s"
    done; } > "$D/raw/subjects.csv"
  python launch/build_data.py --dataset=folder --data_dir="$D/data" \
      --manual_dir="$D/raw" > "$D/build.log" 2>&1
  python launch/train.py --config=configs/prior/finetune.py --workdir="$D/model" \
      --config.train.init_from="$OUT/fold$f/diffusion" \
      --config.train.init_from_stats="$STATS" \
      --config.data.dataset=folder --config.data.data_dir="$D/data" \
      --config.train.num_steps="$STEPS" --config.train.max_minutes=20 \
      > "$D/train.log" 2>&1
  python launch/evaluate.py --checkpoints=finetuned="$D/model" \
      --data_dir="$D/data" --dataset=folder --split=test --stroke_dataset= \
      --num_samples=8 --no_randomised_encoding --output_dir="$D/eval" \
      > "$D/eval.log" 2>&1
  echo "fold$f done $(date +%T)"
done
