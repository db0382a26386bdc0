"""Per-pair metrics, ranks and summaries on gait-like signals with known answers."""
import math

import numpy as np
import pytest

from gaitjax.eval import metrics
from gaitjax.errors import DataError

RATE = 20.0


def gait(period: float = 1.0, t_len: int = 600, offset=0.0,
         amp: float = 1.0) -> np.ndarray:
  """[T, 6] harmonic gait-like angles; the left leg lags half a cycle."""
  w = 2 * np.pi * np.arange(t_len) / RATE / period

  def leg(w):
    return [10 + amp * 25 * np.cos(w) + 3 * np.cos(2 * w + 0.3),
            30 + amp * 28 * np.cos(w + 1.2) + 8 * np.cos(2 * w + 0.5),
            2 + amp * 10 * np.cos(w + 2.0) + 4 * np.cos(2 * w + 1.0)]

  return np.stack(leg(w) + leg(w + np.pi), axis=1) + np.asarray(offset)


def meta(n, subject="AB01", cohort="able_bodied", paretic_side="",
         v_src=1.0, v_tgt=1.2):
  return {"subject": [subject] * n, "v_src": [v_src] * n,
          "v_tgt": [v_tgt] * n, "cohort": [cohort] * n,
          "paretic_side": [paretic_side] * n}


def test_identical_gives_zero_mae_and_unit_r():
  x = gait()[None]
  (rec,) = metrics.pair_records(x, x, meta(1))
  assert rec["mae"] == pytest.approx(0.0, abs=1e-9)
  assert rec["r"] == pytest.approx(1.0, abs=1e-9)
  for joint in ("hip", "knee", "ankle"):
    for side in ("right", "left"):
      assert rec[f"mae_{joint}_{side}"] == pytest.approx(0.0, abs=1e-9)
      assert rec[f"r_{joint}_{side}"] == pytest.approx(1.0, abs=1e-9)
  assert rec["cadence_real"] == pytest.approx(120.0, abs=1e-6)
  assert rec["cadence_abs_err"] == pytest.approx(0.0, abs=1e-6)
  assert rec["reasons"] == {"rank": "no reference bank given"}
  assert "mae_paretic" not in rec


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_constant_offset_gives_mae_k(k):
  x = gait()
  (rec,) = metrics.pair_records(x[None], (x + k)[None], meta(1))
  assert rec["mae"] == pytest.approx(k, abs=1e-6)
  assert rec["mae_knee_left"] == pytest.approx(k, abs=1e-6)
  assert rec["r"] == pytest.approx(1.0, abs=1e-9)


def test_paretic_mapping_left_and_right_paretic():
  x = gait()
  gen = x + np.array([0.0, 0.0, 0.0, 2.0, 4.0, 6.0])   # error on the left leg
  (left,) = metrics.pair_records(x[None], gen[None],
                                 meta(1, "ST01", "stroke", "left"))
  assert left["mae_hip_paretic"] == pytest.approx(2.0, abs=1e-6)
  assert left["mae_knee_paretic"] == pytest.approx(4.0, abs=1e-6)
  assert left["mae_ankle_paretic"] == pytest.approx(6.0, abs=1e-6)
  assert left["mae_paretic"] == pytest.approx(4.0, abs=1e-6)
  assert left["mae_non_paretic"] == pytest.approx(0.0, abs=1e-6)
  assert left["mae_left"] == pytest.approx(4.0, abs=1e-6)
  assert left["mae"] == pytest.approx(2.0, abs=1e-6)
  (right,) = metrics.pair_records(x[None], gen[None],
                                  meta(1, "ST02", "stroke", "right"))
  assert right["mae_paretic"] == pytest.approx(0.0, abs=1e-6)
  assert right["mae_knee_non_paretic"] == pytest.approx(4.0, abs=1e-6)


def test_cadence_error():
  real, gen = gait(period=1.0), gait(period=1.1)
  (rec,) = metrics.pair_records(real[None], gen[None], meta(1))
  expected = abs(120.0 / 1.1 - 120.0)
  assert rec["cadence_gen"] == pytest.approx(120.0 / 1.1, rel=1e-3)
  assert rec["cadence_abs_err"] == pytest.approx(expected, rel=1e-2)
  assert rec["cadence_pct_err"] == pytest.approx(100 * expected / 120, rel=1e-2)


def _bank(num_subjects=5, speeds=(0.6, 0.9)):
  """Subject i walks with offset 3 i deg; one trial per (subject, speed)."""
  xs, subj, spd = [], [], []
  for i in range(num_subjects):
    for v in speeds:
      xs.append(gait(offset=3.0 * i))
      subj.append(f"S{i}")
      spd.append(v)
  return metrics.build_reference_bank(np.stack(xs), subj, spd, rate_hz=RATE)


def test_rank_one_when_own_subject_closest():
  bank = _bank()
  gen = np.stack([gait(offset=3.0 * i + 0.4) for i in range(5)])
  ranks = metrics.rank_samples(gen, [f"S{i}" for i in range(5)], [0.9] * 5,
                               bank, rate_hz=RATE)
  assert [r.rank for r in ranks] == [1.0] * 5
  assert [r.cohort_size for r in ranks] == [5] * 5


def test_rank_equals_cohort_size_when_own_subject_farthest():
  bank = _bank()
  # Subject S0's sample looks exactly like S4: S0 is the farthest of all.
  ranks = metrics.rank_samples(gait(offset=12.0)[None], ["S0"], [0.6], bank,
                               rate_hz=RATE)
  assert ranks[0].rank == 5.0 and ranks[0].cohort_size == 5
  # Middle case: S2 sample that looks like S4 -> S4, S3 closer -> rank 3.
  (r,) = metrics.rank_samples(gait(offset=12.0)[None], ["S2"], [0.6], bank,
                              rate_hz=RATE)
  assert r.rank == 3.0


def test_rank_speed_tolerance_and_cohort_size():
  xs = np.stack([gait(offset=0.0), gait(offset=3.0), gait(offset=6.0)])
  bank = metrics.build_reference_bank(xs, ["A", "B", "C"], [0.9, 0.95, 0.6],
                                      rate_hz=RATE, speed_tol=0.1)
  # Target 0.85: A (0.9) and B (0.95) are within 0.1 m/s, C (0.6) is not.
  (r,) = metrics.rank_samples(gait(offset=3.2)[None], ["B"], [0.85], bank,
                              rate_hz=RATE)
  assert (r.rank, r.cohort_size) == (1.0, 2)
  (r,) = metrics.rank_samples(gait()[None], ["C"], [0.85], bank, rate_hz=RATE)
  assert math.isnan(r.rank) and "own subject" in r.reason


def test_pair_records_with_bank_and_randomised_ranks():
  bank = _bank()
  real = np.stack([gait(offset=3.0), gait(offset=6.0)])
  gen = real + 0.2
  m = {"subject": ["S1", "S2"], "v_src": [0.6, 0.6], "v_tgt": [0.9, 0.9],
       "cohort": ["able_bodied"] * 2, "paretic_side": ["", ""]}
  recs = metrics.pair_records(real, gen, m, bank=bank)
  assert [r["rank"] for r in recs] == [1.0, 1.0]
  # Randomised encoding: each sample conditioned on the other subject.
  rand = metrics.rank_samples(gen[::-1], m["subject"], m["v_tgt"], bank,
                              rate_hz=RATE)
  recs = metrics.attach_ranks(recs, rand, key="rank_random")
  assert [r["rank_random"] for r in recs] == [3.0, 2.0]
  assert metrics.summarize(recs)["headline"]["rank_random"] == 2.5


def test_summarize_counts_nans_with_reasons():
  x = gait()
  flat = np.zeros_like(x) + 5.0           # no cycles can be found
  recs = metrics.pair_records(np.stack([x, x, x]), np.stack([x, x + 1, flat]),
                              meta(3))
  s = metrics.summarize(recs)
  assert s["num_records"] == 3
  assert s["metrics"]["mae"]["n"] == 2 and s["metrics"]["mae"]["n_nan"] == 1
  assert s["metrics"]["mae"]["mean"] == pytest.approx(0.5, abs=1e-6)
  assert s["metrics"]["mae"]["sd"] == pytest.approx(math.sqrt(0.5), abs=1e-6)
  assert s["metrics"]["cadence_abs_err"]["n_nan"] == 1
  assert sum(s["nan_reasons"]["mae"].values()) == 1
  assert sum(s["nan_reasons"]["cadence"].values()) == 1
  # No bank: every rank is NaN, with that reason.
  assert s["nan_reasons"]["rank"] == {"no reference bank given": 3}
  assert s["headline"]["mae"] == pytest.approx(0.5, abs=1e-6)


def test_bad_inputs_raise_data_error():
  x = gait()[None]
  with pytest.raises(DataError, match="shape"):
    metrics.pair_records(x, x[:, :300], meta(1))
  with pytest.raises(DataError, match="v_tgt"):
    metrics.pair_records(x, x, {k: v for k, v in meta(1).items()
                                if k != "v_tgt"})
  with pytest.raises(DataError, match="paretic_side"):
    metrics.side_labels("stroke", "both")


def test_headline_cohort_size_counts_only_ranked_records():
  """A sample without cycles has no rank and compares 0 subjects; the
  headline 'rank / cohort size' must not mix the two populations (a model
  with one ranked pair out of three read '15.0 / 0' in the report)."""
  records = [{"mae": 1.0, "rank": 15.0, "cohort_size": 22},
             {"mae": float("nan"), "rank": float("nan"), "cohort_size": 0},
             {"mae": float("nan"), "rank": float("nan"), "cohort_size": 0}]
  headline = metrics.summarize(records)["headline"]
  assert headline["rank"] == 15.0
  assert headline["cohort_size"] == 22.0
  none = metrics.summarize(records[1:])["headline"]
  assert np.isnan(none["cohort_size"])
