"""Speed analyses on hand-made record tables."""
import itertools
import math

import numpy as np
import pytest

from gaitjax.eval import analyses


def rec(subject, v_src, v_tgt, mae, **kw):
  return dict(subject=subject, v_src=v_src, v_tgt=v_tgt, mae=mae, **kw)


@pytest.mark.parametrize("target,sources,expected", [
    (0.60, [0.55, 0.65], 0.55),        # equidistant -> lower
    (0.60, [0.65, 0.55], 0.55),        # order of the list does not matter
    (1.00, [0.50, 1.50], 0.50),
    (0.70, [0.50, 0.80, 1.10], 0.80),
    (0.95, [0.80, 1.10], 0.80),        # 0.15 vs 0.15 with float noise
    (1.30, [1.30, 0.50], 1.30),        # identity
])
def test_closest_source_tie_rule(target, sources, expected):
  assert analyses.closest_source(target, sources) == pytest.approx(expected)


def test_subset_means_match_scalar_rule():
  rng = np.random.default_rng(0)
  src = np.round(np.arange(0.5, 1.01, 0.05), 2)       # 11 speeds
  tgt = src.copy()
  table = rng.uniform(1, 5, (src.size, tgt.size))
  for size in (1, 2, 3):
    got = analyses.subset_means(src, tgt, table, size)
    want = []
    for sub in itertools.combinations(range(src.size), size):
      chosen = [analyses.closest_source(t, src[list(sub)]) for t in tgt]
      rows = [int(np.flatnonzero(np.isclose(src, c))[0]) for c in chosen]
      want.append(np.mean(table[rows, np.arange(tgt.size)]))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_subset_tie_goes_to_lower_source():
  src, tgt = np.array([0.55, 0.65, 1.5]), np.array([0.6])
  table = np.array([[1.0], [9.0], [50.0]])
  # {0.55, 0.65}: tie -> 0.55 (1); {0.55, 1.5}: 1; {0.65, 1.5}: 9.
  np.testing.assert_allclose(analyses.subset_means(src, tgt, table, 2),
                             [1.0, 1.0, 9.0])


def test_num_sources_analysis_hand_computed():
  # One subject, sources = targets = {0.5, 1.0, 1.5}; value = 10 |dv| + 1.
  speeds = [0.5, 1.0, 1.5]
  recs = [rec("A", s, t, 10 * abs(t - s) + 1) for s in speeds for t in speeds]
  out = analyses.num_sources_analysis(recs, max_size=3)
  # Size 3: every target has its own source -> 1.
  # Size 2: {.5,1}: 1,1,6 ; {.5,1.5}: 1, (tie -> .5) 6, 1 ; {1,1.5}: 6,1,1.
  # Size 1: {.5}: 1,6,11 ; {1}: 6,1,6 ; {1.5}: 11,6,1.
  assert out["key"] == [1, 2, 3]
  np.testing.assert_allclose(out["mean"], [(6 + 13 / 3 + 6) / 3, 8 / 3, 1.0])
  assert out["n"] == [3, 3, 1]
  assert out["sd"][1] == pytest.approx(0.0)


def test_heatmap_cells_and_empty_cells():
  recs = [rec("A", 0.6, 0.9, 2.0), rec("B", 0.6, 0.9, 4.0),
          rec("A", 0.9, 0.6, 5.0), rec("A", 0.9, 0.9, math.nan)]
  h = analyses.speed_pair_heatmap(recs, "mae")
  np.testing.assert_allclose(h.src, [0.6, 0.9])
  np.testing.assert_allclose(h.tgt, [0.6, 0.9])
  assert math.isnan(h.mean[0, 0])           # (0.6, 0.6) unrepresented
  assert h.mean[0, 1] == 3.0 and h.count[0, 1] == 2 and h.max[0, 1] == 4.0
  assert h.mean[1, 0] == 5.0
  assert math.isnan(h.mean[1, 1]) and h.count[1, 1] == 0   # only a NaN value


def test_stroke_binning_of_self_selected_speeds():
  np.testing.assert_allclose(
      analyses.bin_speed([0.3, 0.6, 0.85, 0.70, 1.2, 0.52], 0.15),
      [0.3, 0.6, 0.9, 0.75, 1.2, 0.45])
  recs = [rec("S", 0.85, 0.3, 6.0, rank=2.0), rec("T", 0.88, 0.3, 8.0, rank=4.0),
          rec("S", 0.3, 0.3, 1.0, rank=1.0)]
  h = analyses.speed_pair_heatmap(recs, "rank", bin_width=0.15)
  np.testing.assert_allclose(h.src, [0.3, 0.9])
  assert h.mean[1, 0] == 3.0 and h.mean[0, 0] == 1.0


def test_per_source_and_speed_difference():
  recs = [rec("A", 0.5, 0.5, 1.0), rec("A", 0.5, 0.55, 2.0),
          rec("A", 0.5, 0.75, 3.0), rec("A", 0.7, 0.5, 5.0)]
  ps = analyses.per_source_speed(recs)
  assert ps["key"] == [0.5, 0.7]
  np.testing.assert_allclose(ps["mean"], [2.0, 5.0])
  assert ps["n"] == [3, 1]
  dv = analyses.per_speed_difference(recs, width=0.1)
  # |dv| 0, 0.05 -> bin 0.0; 0.25 -> 0.2; 0.2 -> 0.2 (lower edge inclusive)
  assert dv["key"] == pytest.approx([0.0, 0.2])
  np.testing.assert_allclose(dv["mean"], [1.5, 4.0])


def test_representative_cases_of_median_subject():
  recs = ([rec("A", 1.0, t, m) for t, m in zip([1, 2, 3], [1.0, 1.0, 1.0])]
          + [rec("B", 1.0, t, m) for t, m in zip([1, 2, 3], [9.0, 2.0, 4.0])]
          + [rec("C", 1.0, t, m) for t, m in zip([1, 2, 3], [9.0, 9.0, 9.0])])
  cases = analyses.representative_cases(recs)
  assert cases["subject"] == "B" and cases["subject_mean"] == pytest.approx(5.0)
  assert (cases["best"], cases["median"], cases["worst"]) == (4, 5, 3)


def test_cohort_analyses_bundle():
  recs = [rec("A", s, t, abs(t - s) + 1, rank=1.0, cadence_real=100 + 20 * t,
              cadence_gen=101 + 20 * t)
          for s in (0.3, 0.6, 0.9) for t in (0.3, 0.6, 0.9)]
  out = analyses.cohort_analyses(recs, "stroke")
  assert out["bin_width"] == analyses.STROKE_BIN_MPS
  assert out["rank_heatmap"]["mean"][0][0] == 1.0
  np.testing.assert_allclose(out["cadence_by_target"]["gen"],
                             [107.0, 113.0, 119.0])
  assert out["num_sources"]["mean"][2] == pytest.approx(1.0)


def _cad_rec(v_tgt, abs_err, real=100.0):
  return rec("S", 0.6, v_tgt, 1.0, cadence_abs_err=abs_err,
             cadence_pct_err=100.0 * abs_err / real)


def test_stroke_cadence_band_is_the_papers_and_both_are_reported():
  # Targets 0.3 .. 1.2 plus an off-grid self-selected speed; errors grow
  # at the slow speeds outside the paper's 0.5-1.2 m/s band.
  recs = [_cad_rec(0.3, 20.0), _cad_rec(0.45, 12.0), _cad_rec(0.5, 4.0),
          _cad_rec(0.6, 2.0), _cad_rec(0.9, 3.0), _cad_rec(np.float32(1.2),
                                                           5.0),
          _cad_rec(1.25, 9.0), _cad_rec(0.7, math.nan)]
  assert analyses.STROKE_CADENCE_BAND_MPS == (0.5, 1.2)
  band = analyses.cadence_errors(recs, analyses.STROKE_CADENCE_BAND_MPS)
  # 0.5 and 1.2 (even as float32) are inside; 0.45, 1.25 outside; NaN out.
  assert band["n"] == 4
  assert band["cadence_mae"] == pytest.approx((4 + 2 + 3 + 5) / 4)
  assert band["cadence_pct"] == pytest.approx((4 + 2 + 3 + 5) / 4)
  everything = analyses.cadence_errors(recs)
  assert everything["n"] == 7 and everything["band"] is None
  assert everything["cadence_mae"] == pytest.approx(55 / 7)
  out = analyses.cohort_analyses(
      [dict(r, cadence_real=100.0, cadence_gen=101.0) for r in recs],
      "stroke")
  assert out["cadence_error"] == everything
  assert out["cadence_error_band"] == band
  able = analyses.cohort_analyses(
      [dict(r, cadence_real=100.0, cadence_gen=101.0) for r in recs],
      "able_bodied")
  assert "cadence_error" in able and "cadence_error_band" not in able


def test_cadence_band_with_no_pair_inside_is_nan():
  out = analyses.cadence_errors([_cad_rec(0.3, 1.0)], (0.5, 1.2))
  assert out["n"] == 0 and math.isnan(out["cadence_mae"])
