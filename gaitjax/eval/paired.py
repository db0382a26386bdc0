"""Paired comparison of two rows on the same pairs, subject by subject.

A difference of means over pairs does not say whether one row is ahead for
most people or far behind for a few. Every row of an evaluation scores the
same pairs, so the per-pair differences can be grouped by subject: how many
subjects each row wins, the subject where the first row loses most, the
difference without that subject, and a 95 % interval from resampling
subjects (pairs of one person are not independent; resampling pairs would
give a falsely narrow interval).

Records are those of ``metrics.pair_records`` ('index', 'subject' and the
value, e.g. 'mae'); two rows are matched on 'index'. Pairs where either row
has no finite value are left out.
"""
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

Record = Mapping[str, Any]

NUM_BOOTSTRAP = 2000
CI_LEVEL = 0.95


def matched_differences(records_a: Sequence[Record],
                        records_b: Sequence[Record], value: str = "mae"
                        ) -> Dict[str, np.ndarray]:
  """Per-pair value_a - value_b of the pairs both rows scored.

  Returns:
    {'subject': [P] str, 'a': [P], 'b': [P], 'diff': [P]} over the pairs
    (matched on 'index') where both values are finite, in index order.
  """
  def by_index(records):
    return {int(r["index"]): r for r in records}
  a, b = by_index(records_a), by_index(records_b)
  rows = []
  for i in sorted(set(a) & set(b)):
    va, vb = a[i].get(value), b[i].get(value)
    if va is None or vb is None:
      continue
    va, vb = float(va), float(vb)
    if np.isfinite(va) and np.isfinite(vb):
      rows.append((str(a[i]["subject"]), va, vb))
  subject = np.array([r[0] for r in rows], dtype=object)
  va = np.array([r[1] for r in rows], np.float64)
  vb = np.array([r[2] for r in rows], np.float64)
  return {"subject": subject, "a": va, "b": vb, "diff": va - vb}


def _pooled_mean(sums: np.ndarray, counts: np.ndarray,
                 picks: np.ndarray) -> np.ndarray:
  """Mean over the pairs of the picked subjects, per resample: [R]."""
  return sums[picks].sum(axis=1) / counts[picks].sum(axis=1)


def compare(records_a: Sequence[Record], records_b: Sequence[Record], *,
            value: str = "mae", num_bootstrap: int = NUM_BOOTSTRAP,
            seed: int = 0) -> Optional[Dict[str, Any]]:
  """Row a against row b on their common pairs, grouped by subject.

  Lower values are better (an error such as the cycle MAE).

  Returns:
    None without a common finite pair; else {'num_pairs', 'num_subjects',
    'mean_a', 'mean_b', 'diff' (mean over pairs of a - b), 'ci' ([lo, hi]
    of diff, CI_LEVEL, subjects resampled with replacement),
    'subjects_better' / 'subjects_worse' (subjects whose mean a - b is
    < 0 / > 0), 'per_subject' ({subject: mean a - b}), 'worst_subject',
    'worst_diff', 'diff_without_worst' (None with one subject)}.
  """
  d = matched_differences(records_a, records_b, value)
  if d["diff"].size == 0:
    return None
  subjects = sorted(set(d["subject"].tolist()))
  members = [d["subject"] == s for s in subjects]
  sums = np.array([d["diff"][m].sum() for m in members])
  counts = np.array([m.sum() for m in members], np.float64)
  per_subject = sums / counts
  worst = int(np.argmax(per_subject))
  rng = np.random.default_rng(seed)
  picks = rng.integers(0, len(subjects), size=(num_bootstrap, len(subjects)))
  boot = _pooled_mean(sums, counts, picks)
  tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
  rest = np.arange(len(subjects)) != worst
  return {
      "num_pairs": int(d["diff"].size),
      "num_subjects": len(subjects),
      "mean_a": float(d["a"].mean()),
      "mean_b": float(d["b"].mean()),
      "diff": float(d["diff"].mean()),
      "ci": [float(np.percentile(boot, tail)),
             float(np.percentile(boot, 100.0 - tail))],
      "subjects_better": int(np.sum(per_subject < 0)),
      "subjects_worse": int(np.sum(per_subject > 0)),
      "per_subject": {s: float(v) for s, v in zip(subjects, per_subject)},
      "worst_subject": subjects[worst],
      "worst_diff": float(per_subject[worst]),
      "diff_without_worst": (float(sums[rest].sum() / counts[rest].sum())
                             if rest.any() else None),
  }


def compare_rows(entries: Mapping[str, Mapping[str, Mapping[str, Any]]],
                 main: str, *, value: str = "mae"
                 ) -> Dict[str, Dict[str, Dict[str, Any]]]:
  """``main`` against every other row, per cohort both have.

  Args:
    entries: model -> cohort -> {'records', ...} (report entries).
    main: the row compared.

  Returns:
    {other row: {cohort: compare(main, other)}} without empty comparisons.
  """
  out: Dict[str, Dict[str, Dict[str, Any]]] = {}
  if main not in entries:
    return out
  for other, by_cohort in entries.items():
    if other == main:
      continue
    for cohort, entry in by_cohort.items():
      if cohort not in entries[main]:
        continue
      result = compare(entries[main][cohort]["records"], entry["records"],
                       value=value)
      if result is not None:
        out.setdefault(other, {})[cohort] = result
  return out
