"""Paired comparison of two rows by subject (gaitjax/eval/paired.py)."""
import math

import numpy as np
import pytest

from gaitjax.eval import paired, report


def _records(values, subjects):
  return [{"index": i, "subject": s, "mae": v}
          for i, (v, s) in enumerate(zip(values, subjects))]


def test_one_subject_far_behind_is_named_and_set_aside():
  subjects = [s for s in ("A", "B", "C", "D") for _ in range(5)]
  b = np.full(20, 2.0)
  a = b - 0.1
  a[15:] = b[15:] + 1.0                     # D: 1.0 worse, others 0.1 better
  r = paired.compare(_records(a, subjects), _records(b, subjects))
  assert r["num_pairs"] == 20 and r["num_subjects"] == 4
  np.testing.assert_allclose(r["diff"], (15 * -0.1 + 5 * 1.0) / 20)
  assert (r["subjects_better"], r["subjects_worse"]) == (3, 1)
  assert r["worst_subject"] == "D"
  np.testing.assert_allclose(r["worst_diff"], 1.0)
  np.testing.assert_allclose(r["diff_without_worst"], -0.1)
  np.testing.assert_allclose(r["per_subject"]["A"], -0.1)
  lo, hi = r["ci"]
  assert lo <= r["diff"] <= hi
  # Resampling subjects: the interval reaches both the all-better (-0.1)
  # and the mostly-D (+1.0 side) situations.
  assert lo < 0.0 < hi


def test_interval_excludes_zero_when_every_subject_is_behind():
  rng = np.random.default_rng(0)
  subjects = [f"S{k}" for k in range(12) for _ in range(6)]
  b = rng.uniform(1.0, 3.0, size=72)
  a = b + 0.2 + 0.05 * rng.standard_normal(72)
  r = paired.compare(_records(a, subjects), _records(b, subjects))
  assert r["ci"][0] > 0.1 and r["subjects_worse"] == 12
  swapped = paired.compare(_records(b, subjects), _records(a, subjects))
  assert swapped["ci"][1] < -0.1 and swapped["subjects_better"] == 12


def test_pairs_are_matched_on_index_and_nan_pairs_left_out():
  a = _records([1.0, math.nan, 3.0, 4.0], ["A", "A", "B", "B"])
  b = _records([2.0, 2.0, None, 1.0], ["A", "A", "B", "B"])
  b = [b[3], b[0], b[2], b[1]]              # another order, same indices
  d = paired.matched_differences(a, b)
  assert d["subject"].tolist() == ["A", "B"]
  np.testing.assert_allclose(d["diff"], [-1.0, 3.0])
  assert paired.compare(a[1:2], b) is None


def _full_records(values, subjects):
  """Records as metrics.pair_records writes them (what the report reads)."""
  return [{**r, "cohort": "able_bodied", "paretic_side": None,
           "v_src": 1.0, "v_tgt": 1.0 + 0.1 * (r["index"] % 4),
           "r": 0.99, "reasons": {}}
          for r in _records(values, subjects)]


def test_report_has_the_paired_table_and_json(tmp_path):
  subjects = [s for s in ("A", "B", "C") for _ in range(4)]
  base = np.linspace(1.0, 2.0, 12)
  results = {"diffusion": {"able_bodied": _full_records(base - 0.05,
                                                        subjects)},
             "cycle_template": {"able_bodied": _full_records(base,
                                                             subjects)}}
  paths = report.write_report(str(tmp_path), results,
                              {"main_model": "diffusion"})
  text = open(paths["report"]).read()
  assert "## Paired by subject: diffusion minus each row" in text
  paired_part = text.split("## Paired by subject", 1)[1]
  row = next(l for l in paired_part.splitlines()
             if l.startswith("| cycle_template"))
  assert "-0.050" in row and "3 / 0" in row
  import json
  doc = json.load(open(paths["metrics"]))
  got = doc["paired_by_subject"]["rows"]["cycle_template"]["able_bodied"]
  assert got["subjects_better"] == 3
  assert got["diff"] == pytest.approx(-0.05)


def test_printed_summary_compares_with_the_formula_rows_only():
  subjects = [s for s in ("A", "B") for _ in range(3)]
  base = np.linspace(1.0, 2.0, 6)
  results = {"diffusion": {"able_bodied": _full_records(base + 0.2,
                                                        subjects)},
             "cycle_template": {"able_bodied": _full_records(base,
                                                             subjects)},
             "copy_source": {"able_bodied": _full_records(base + 1.0,
                                                          subjects)}}
  text = report.format_paired(results, "diffusion")
  assert "| cycle_template" in text and "+0.200" in text
  assert "0 / 2" in text and "copy_source" not in text
  del results["cycle_template"]
  assert report.format_paired(results, "diffusion") == ""
