"""Issue 17: does the generator's fitted speed correction help on real
people it was not fitted on?  (Template rows only: no training.)

For each real person p of a folder build (default: the 8 WBDS adults): fit
the SpeedCorrection on the other people (gaitjax.eval.speed_calibration),
generate the default training population with it (the 13 train subjects of
synthetic_able_bodied, 28 speeds), fit the cycle template on them, and score
the template on p's cross-speed pairs (cycle MAE, as launch/evaluate.py).
Beside it: the same with no correction, and with the correction fitted on
everyone (p included: in-sample, for reference).

  PYTHONPATH=. python docs/experiments/real_template_lopo.py \
      --real_data_dir=runs/real --train_names_from=runs/quickstart4/data
"""
import argparse
import itertools

import numpy as np

from gaitjax import constants
from gaitjax.data import dataset, preprocess, reference, synthetic
from gaitjax.eval import cohort_compare as cc
from gaitjax.eval import metrics
from gaitjax.eval import speed_calibration as sc


def load_all(data_dir, name):
  parts = []
  for split in ("train", "validation", "test"):
    try:
      parts.append(dataset.load_split(data_dir, name, split))
    except Exception:  # pylint: disable=broad-except
      pass
  x = np.concatenate([p.x for p in parts])
  v = np.concatenate([p.speed for p in parts])
  s = np.concatenate([p.subject for p in parts])
  return x, v, s


def template_for(corr, names):
  trials = synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=22, rate_hz=100.0, speed_correction=corr)
  trials = [t for t in trials if t.subject in names]
  x = np.stack([preprocess.to_model_input(t) for t in trials])
  return reference.TemplateModel.fit(
      x, np.array([t.speed_mps for t in trials]),
      subject=[t.subject for t in trials])


def score(template, x, v, s, people):
  out = {}
  for p in people:
    idx = np.flatnonzero(s == p)
    maes = []
    for i, j in itertools.permutations(idx, 2):
      gen = reference.template_baseline(x[i], float(v[i]), float(v[j]),
                                        template)
      rec = metrics.pair_record(x[j], gen, subject=p, v_src=float(v[i]),
                                v_tgt=float(v[j]), cohort="able_bodied")
      maes.append(rec["mae"])
    out[p] = maes
  return out


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--real_data_dir", default="runs/real")
  ap.add_argument("--real_dataset", default="folder")
  ap.add_argument("--real_folder",
                  default="../shared/data/fukuchi2018/wbds_multispeed/folder")
  ap.add_argument("--train_names_from", default="runs/quickstart4/data")
  ap.add_argument("--level_free_joints", default="hip",
                  help="comma list; '' fits the hip's cycle-mean change too "
                       "(the real set's thigh-to-vertical convention)")
  args = ap.parse_args()
  joints = tuple(j for j in args.level_free_joints.split(",") if j)
  x, v, s = load_all(args.real_data_dir, args.real_dataset)
  people = sorted(set(s.tolist()))
  names = set(dataset.load_split(args.train_names_from,
                                 "synthetic_able_bodied", "train").subjects)
  real = cc.load_folder_cohort(args.real_folder)
  rows = {"uncorrected": {}, "fitted without p": {}, "fitted on all 8": {}}
  plain = template_for(synthetic.SpeedCorrection.zero(), names)
  everyone = template_for(sc.fit_speed_correction(real, iterations=4,
                                                   joints=joints), names)
  for p in people:
    held = template_for(sc.fit_speed_correction(real.without(p),
                                                iterations=4, joints=joints),
                        names)
    rows["fitted without p"].update(score(held, x, v, s, [p]))
    rows["uncorrected"].update(score(plain, x, v, s, [p]))
    rows["fitted on all 8"].update(score(everyone, x, v, s, [p]))
    print(p, {k: round(float(np.mean(r[p])), 2) for k, r in rows.items()},
          flush=True)
  print("| template from the synthetic population | all pairs | per person |")
  print("|---|---|---|")
  for k, r in rows.items():
    allv = np.concatenate([r[p] for p in people])
    per = " ".join(f"{np.mean(r[p]):.2f}" for p in people)
    print(f"| {k} | {np.nanmean(allv):.2f} (n={allv.size}) | {per} |")


if __name__ == "__main__":
  main()
