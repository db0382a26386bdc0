"""Calibration of K-sample bands and the |dv| breakdown (issue 10)."""
import json
import os

import numpy as np
import pytest

from gaitjax.data.dataset import TrialSet
from gaitjax.eval import calibration
from gaitjax.eval import evaluate as ev
from gaitjax.eval import selection
from gaitjax.generate import GenerationResult
from gaitjax.eval import report

RATE = 20.0
T = 300
SPEEDS = (0.6, 0.8, 1.0, 1.2)
SUBJECTS = ("A", "B", "C", "D")


def base_gait(speed, k):
  period = 1.5 - 0.45 * speed
  w = 2 * np.pi * np.arange(T) / RATE / period

  def leg(w):
    return [10 + 2 * k + 22 * np.cos(w) + 3 * np.cos(2 * w + 0.3),
            35 + 18 * np.cos(w + 1.2) + (4 + k) * np.cos(2 * w + 0.5),
            2 - k + 9 * np.cos(w + 2.0) + 4 * np.cos(2 * w + 1.0)]

  return np.stack(leg(w) + leg(w + np.pi), axis=1)


def perturbation(rng, speed, scale=1.0):
  """A recording's own smooth deviation: per channel an offset and a
  second-harmonic term (locked to the gait phase), SD ~ scale deg."""
  period = 1.5 - 0.45 * speed
  w = 2 * np.pi * np.arange(T) / RATE / period
  out = np.empty((T, 6))
  for c in range(6):
    ph = w if c < 3 else w + np.pi
    out[:, c] = scale * (rng.normal() + rng.normal() * np.cos(2 * ph)
                         + rng.normal() * np.sin(3 * ph))
  return out


@pytest.fixture(scope="module")
def cohort():
  rng = np.random.default_rng(123)
  x, v, s = [], [], []
  for k, subj in enumerate(SUBJECTS):
    for speed in SPEEDS:
      x.append(base_gait(speed, k) + perturbation(rng, speed))
      v.append(speed)
      s.append(subj)
  return TrialSet.from_arrays(np.stack(x).astype(np.float32), v, s)


class SampleGenerator:
  """K samples = the subject's true gait at the target speed plus fresh
  recording deviations with SD ``scale`` (1 = the real recordings' own)."""

  def __init__(self, ts, scale):
    self.scale = scale
    self.lookup = {ts.x[i].tobytes(): SUBJECTS.index(ts.subject[i])
                   for i in range(len(ts))}

  def generate(self, sources, v_src, v_tgt, *, num_samples=1, seed=0,
               cohort="able_bodied"):
    rng = np.random.default_rng(seed)
    sources = np.asarray(sources, np.float32)
    v_tgt = np.asarray(v_tgt, float).reshape(len(sources), -1)
    samples = np.stack([np.stack([np.stack([
        base_gait(v, self.lookup[x.tobytes()])
        + perturbation(rng, v, self.scale) for _ in range(num_samples)])
                                  for v in vt]) for x, vt in zip(sources,
                                                                 v_tgt)])
    return GenerationResult(mean=samples.mean(2), std=samples.std(2),
                            samples=samples,
                            v_src=np.asarray(v_src, np.float32),
                            v_tgt=v_tgt.astype(np.float32),
                            extrapolated=np.zeros(v_tgt.shape, bool))


def test_coverage_of_exchangeable_draws_is_nominal():
  rng = np.random.default_rng(0)
  for k in (2, 8):
    got = []
    for _ in range(200):
      mu = rng.normal(size=(6, 101))
      sig = 0.5 + rng.uniform(size=(6, 101))
      got.append(calibration.coverage(
          mu + sig * rng.normal(size=mu.shape),
          mu + sig * rng.normal(size=(k,) + mu.shape)))
    for lv in calibration.LEVELS:
      obs = np.mean([g[calibration.level_key(lv)] for g in got])
      assert abs(obs - lv) < 0.02, (k, lv, obs)
    # The naive mean +- z SD band under-covers at small K.
    z95 = np.mean([g["coverage_z_95"] for g in got])
    assert z95 < (0.7 if k == 2 else 0.92)


def test_coverage_ignores_points_without_two_samples():
  real = np.zeros((6, 101))
  s = np.stack([np.zeros((6, 101)), np.ones((6, 101)), np.ones((6, 101))])
  s[1:, :3] = np.nan                      # right side: one sample only
  cov = calibration.coverage(real, s)
  assert all(np.isfinite(v) for v in cov.values())
  s[1:] = np.nan
  assert all(np.isnan(v) for v in calibration.coverage(real, s).values())


def evaluate(cohort, scale, out_dir=None):
  data = selection.CohortData(name="able_bodied", eval_set=cohort, pool=cohort)
  res = ev.evaluate_cohorts({"gen": SampleGenerator(cohort, scale)}, [data],
                            simple_baselines=False, randomised_encoding=False,
                            num_samples=8, out_dir=out_dir,
                            make_figures=out_dir is not None)
  return calibration.reliability(res["gen"]["able_bodied"]["records"])


def test_generator_drawing_from_the_truth_is_calibrated(cohort, tmp_path):
  rel = evaluate(cohort, 1.0, out_dir=str(tmp_path))
  assert rel["n"] == len(SUBJECTS) * len(SPEEDS) ** 2
  for nominal, obs in zip(rel["nominal"], rel["observed"]):
    assert abs(obs - nominal) < 0.08, (nominal, obs)
  doc = json.loads((tmp_path / "metrics.json").read_text())
  assert doc["calibration"]["gen / able_bodied"]["observed"] == pytest.approx(
      rel["observed"])
  assert "0" in doc["mae_by_dv_bin"]["gen"]["able_bodied"]
  md = (tmp_path / "report.md").read_text()
  assert "## Calibration" in md and "## MAE (deg) by |v_tgt - v_src|" in md
  assert "SD scale" in md
  assert doc["calibration"]["gen / able_bodied"]["observed_cal"]
  assert os.path.isfile(tmp_path / "figures" / "fig8_reliability.png")


def test_too_narrow_generator_under_covers(cohort):
  rel = evaluate(cohort, 0.25)
  assert rel["observed"][2] < 0.6            # 90 % nominal
  assert rel["observed"][3] < 0.7            # 95 % nominal
  # Leave-one-subject-out SD scaling repairs it (pairs never score with a
  # scale fitted on themselves).
  for nominal, obs in zip(rel["nominal"], rel["observed_cal"]):
    assert abs(obs - nominal) < 0.08, (nominal, obs)


def test_band_scale_recovers_a_known_under_dispersion():
  rng = np.random.default_rng(1)
  us, ks = [], []
  for _ in range(60):
    mu = rng.normal(size=(6, 101))
    real = mu + rng.normal(size=mu.shape)
    samples = mu + 0.4 * rng.normal(size=(8,) + mu.shape)   # SD 2.5x small
    u, k = calibration.normalised_errors(real, samples)
    us.append(u)
    ks.append(k)
  assert calibration.fit_band_scale(us, ks) == pytest.approx(2.5, rel=0.1)
  # Well-dispersed samples need no scaling.
  good = [calibration.normalised_errors(
      mu + rng.normal(size=mu.shape), mu + rng.normal(size=(8,) + mu.shape))
          for mu in rng.normal(size=(60, 6, 101))]
  assert calibration.fit_band_scale(*zip(*good)) == pytest.approx(1.0,
                                                                  rel=0.1)
  groups = ["a"] * 30 + ["b"] * 30
  scales = calibration.loso_band_scales(us, ks, groups)
  assert scales == pytest.approx(np.full(60, 2.5), rel=0.1)
  assert np.all(np.isnan(calibration.loso_band_scales(us, ks, ["a"] * 60)))


def test_dv_bins():
  recs = [{"v_src": 1.0, "v_tgt": v, "mae": m} for v, m in
          ((1.0, 1.0), (1.05, 2.0), (1.1, 3.0), (1.3, 4.0), (1.5, 5.0),
           (0.4, 6.0), (2.0, 7.0), (1.2, float("nan")))]
  bins = calibration.dv_bins(recs)
  assert [bins[b]["mean"] for b in calibration.DV_BINS] == [
      1.0, 2.5, 4.0, 5.5, 7.0]
  assert bins["(0.1, 0.5)"]["n_nan"] == 1
  headers, rows = report.dv_table({"m": {"able_bodied": recs}})
  assert rows[0][2:] == ["1.00 (1)", "2.50 (2)", "4.00 (1)", "5.50 (2)",
                         "7.00 (1)"]
