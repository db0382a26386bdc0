"""Cross-speed pair MAE (deg) per row, pooled over evaluation folders.

  python docs/experiments/pair_mae_table.py runs/lopo/*/eval/metrics.json

Identity pairs (v_src = v_tgt) are left out; the last column is the mean
per person (subjects sorted)."""
import glob, json, sys
import numpy as np
paths = sys.argv[1:]
rows = {}
for p in paths:
  d = json.load(open(p))["models"]
  for name, cohorts in d.items():
    for r in cohorts.get("able_bodied", {}).get("records", []):
      if abs(r["v_tgt"] - r["v_src"]) < 1e-6:
        continue
      rows.setdefault(name, []).append((r["subject"], abs(r["v_tgt"] - r["v_src"]), r["mae"]))
for name, recs in rows.items():
  dv = np.array([x[1] for x in recs]); mae = np.array([x[2] for x in recs], float)
  far = dv >= 0.5
  per = {}
  for s, _, m in recs: per.setdefault(s, []).append(m)
  print(f"{name:20s} pairs {len(recs):3d}  all {np.nanmean(mae):.2f}  |dv|>=0.5 {np.nanmean(mae[far]):.2f} ({far.sum()})  per person " +
        " ".join(f"{np.nanmean(v):.2f}" for s, v in sorted(per.items())))
