#!/usr/bin/env bash
# Issue 17, held out: is a quickstart model trained on a generator whose
# speed correction was fitted WITHOUT some real people better on those people?
# 4 folds of the 8 WBDS adults (2 held out each): fit the correction on the
# other 6 (compare_cohorts --fit_correction on a folder copy without them),
# build the synthetic population with it, train the quickstart's model
# (configs/prior/pretrain_population.py, 2,000 steps), evaluate K = 8 on the real folder
# build (runs/real) and keep the held-out people's pairs:
#   python docs/experiments/pair_mae_table.py --people=... (see below).
set -euo pipefail
REAL=${REAL:-../shared/data/fukuchi2018/wbds_multispeed/folder}
OUT=${OUT:-runs/folds}
# LEVEL_FREE= (empty) also fits the hip's cycle-mean change (thigh-to-vertical
# hips, like this set's); default hip: the generator's pelvis-relative hip.
LEVEL_FREE=${LEVEL_FREE-hip}
# The quickstart trains on the synthetic population (300 subjects, regression
# reference); CONFIG=configs/cpu_small.py DATASET=synthetic_able_bodied trains
# the earlier 13-subject quickstart model instead.
CONFIG=${CONFIG:-configs/prior/pretrain_population.py}
DATASET=${DATASET:-synthetic_population}
# SEED=1 trains (and evaluates into eval_seed1/) a second model per fold on
# the same data: how much of a difference is one training run's luck.
SEED=${SEED:-0}
RUN=diffusion; EVAL=eval
[[ $SEED == 0 ]] || { RUN=diffusion_seed$SEED; EVAL=eval_seed$SEED; }
FOLDS=("WBDS01 WBDS25" "WBDS02 WBDS30" "WBDS11 WBDS33" "WBDS35 WBDS41")
for f in 0 1 2 3; do
  held=(${FOLDS[$f]})
  dir=$OUT/fold$f
  mkdir -p "$dir"
  # The real folder less the held-out people (trial files are linked).
  rm -rf "$dir/real6"; mkdir -p "$dir/real6"
  for table in subjects.csv trials.csv; do
    head -1 "$REAL/$table" > "$dir/real6/$table"
    tail -n +2 "$REAL/$table" | grep -v -E "^(${held[0]}|${held[1]})," \
        >> "$dir/real6/$table"
  done
  for entry in "$REAL"/*/; do
    name=$(basename "$entry")
    [[ "$name" == "${held[0]}" || "$name" == "${held[1]}" ]] && continue
    ln -sfn "$(realpath "$entry")" "$dir/real6/$name"
  done
  [[ -f $dir/cc/speed_correction.json ]] || python launch/compare_cohorts.py \
      --real_folder="$dir/real6" --output_dir="$dir/cc" --fit_correction \
      --level_free_joints="$LEVEL_FREE" \
      > "$dir/cc.log" 2>&1
  python launch/build_data.py --dataset="$DATASET" \
      --data_dir="$dir/data" --speed_correction="$dir/cc/speed_correction.json" \
      > "$dir/build.log" 2>&1
  [[ -f $dir/$RUN/DONE ]] || { python launch/train.py \
      --config="$CONFIG" --workdir="$dir/$RUN" --config.seed="$SEED" \
      --config.data.data_dir="$dir/data" --config.train.num_steps=2000 \
      --config.train.max_minutes=0 > "$dir/$RUN.log" 2>&1 \
      && touch "$dir/$RUN/DONE"; }
  python launch/evaluate.py --checkpoints=fold$f="$dir/$RUN" \
      --data_dir=runs/real --dataset=folder --split=all --stroke_dataset= \
      --num_samples=8 --no_randomised_encoding --output_dir="$dir/$EVAL" \
      > "$dir/$EVAL.log" 2>&1
done
