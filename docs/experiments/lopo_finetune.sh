#!/usr/bin/env bash
# Issue 17 item 3 (README "Models on the real people"): the population prior fine-tuned on 6 real people (+1 for
# validation), evaluated on the 8th; rotated over all 8.
set -u
cd "$(dirname "$0")/../.."
REAL=${REAL:-$(cd ..; pwd)/shared/data/fukuchi2018/wbds_multispeed/folder}
PRIOR=${PRIOR:-runs/prior_far}
PEOPLE=(WBDS01 WBDS02 WBDS11 WBDS25 WBDS30 WBDS33 WBDS35 WBDS41)
STEPS=${STEPS:-1000}
for i in "${!PEOPLE[@]}"; do
  P=${PEOPLE[$i]}; V=${PEOPLE[$(( (i + 1) % 8 ))]}
  D=runs/lopo/$P; mkdir -p $D/raw
  [ -e $D/eval/metrics.json ] && continue
  for p in "${PEOPLE[@]}"; do ln -sfn $REAL/$p $D/raw/$p; done
  cp $REAL/trials.csv $D/raw/trials.csv
  { echo "subject,cohort,paretic_side,split"
    for p in "${PEOPLE[@]}"; do
      s=train; [ $p = $P ] && s=test; [ $p = $V ] && s=validation
      echo "$p,able_bodied,,$s"; done; } > $D/raw/subjects.csv
  python launch/build_data.py --dataset=folder --data_dir=$D/data --manual_dir=$D/raw > $D/build.log 2>&1 || { echo "$P build failed"; continue; }
  python launch/train.py --config=configs/prior/finetune.py --workdir=$D/ft \
    --config.train.init_from=$PRIOR --config.train.init_from_stats=finetune --config.data.dataset=folder \
    --config.data.data_dir=$D/data --config.train.num_steps=$STEPS --config.train.max_minutes=20 > $D/train.log 2>&1 || { echo "$P train failed"; continue; }
  python launch/evaluate.py --checkpoints=finetuned=$D/ft,prior=$PRIOR \
    --data_dir=$D/data --dataset=folder --split=test --stroke_dataset= \
    --num_samples=8 --no_randomised_encoding --output_dir=$D/eval > $D/eval.log 2>&1 || { echo "$P eval failed"; continue; }
  echo "$P done $(date +%T)"
done
echo all done
