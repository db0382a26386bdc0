"""Held-out table of docs/experiments/fold_speed_correction.sh: per fold,
only the pairs of the people whose data the fold's speed correction did not
see; identity pairs left out.

  python docs/experiments/fold_table.py runs/folds [uncorrected/metrics.json]

The optional second file (an evaluation of a model trained on the
uncorrected generator on the same real build) adds its rows, restricted to
the same held-out people, prefixed "uncorrected: ".
"""
import json
import os
import pathlib
import sys

import numpy as np

# FOLD_EVAL=eval_seed1 reads the second-seed runs (SEED=1 of the script).
EVAL = os.environ.get("FOLD_EVAL", "eval")
FOLDS = ["WBDS01 WBDS25", "WBDS02 WBDS30", "WBDS11 WBDS33", "WBDS35 WBDS41"]


def _add(rows, models, people, prefix=""):
  for name, cohorts in models.items():
    key = "model (fold's generator)" if name.startswith("fold") else name
    for r in cohorts.get("able_bodied", {}).get("records", []):
      if r["subject"] not in people or abs(r["v_tgt"] - r["v_src"]) < 1e-6:
        continue
      rows.setdefault(prefix + key, []).append(
          (r["subject"], abs(r["v_tgt"] - r["v_src"]), r["mae"]))


def main(root, uncorrected=None):
  rows = {}
  if uncorrected:
    held_all = " ".join(FOLDS).split()
    _add(rows, json.loads(pathlib.Path(uncorrected).read_text())["models"],
         held_all, "uncorrected: ")
  done = []
  for f, held in enumerate(FOLDS):
    path = pathlib.Path(root) / f"fold{f}" / EVAL / "metrics.json"
    if not path.is_file():
      print(f"fold{f}: no {path}")
      continue
    _add(rows, json.loads(path.read_text())["models"], held.split())
    done += held.split()
  print("| row | pairs | all | |dv| >= 0.5 | per person |")
  print("|---|---|---|---|---|")
  for name, recs in rows.items():
    recs = [r for r in recs if r[0] in done]
    mae = np.array([x[2] for x in recs], float)
    far = np.array([x[1] for x in recs]) >= 0.5
    per = {}
    for s, _, m in recs:
      per.setdefault(s, []).append(m)
    people = " ".join(f"{np.nanmean(v):.2f}" for _, v in sorted(per.items()))
    print(f"| {name} | {len(recs)} | {np.nanmean(mae):.2f} | "
          f"{np.nanmean(mae[far]):.2f} | {people} |")


if __name__ == "__main__":
  main(*(sys.argv[1:] or ["runs/folds"]))
