"""Tests of the generator's fitted speed correction (issue 17):
SpeedCorrection's interpolation, the within-person band levels, and that the
fit recovers a change injected into a cohort whose truth is known."""
import numpy as np
import pytest

from gaitjax.data import synthetic
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError
from gaitjax.eval import cohort_compare as cc
from gaitjax.eval import speed_calibration as sc

ANCHORS = (0.5, 1.0, 1.55)


def _correction(slow_value=1.0, fast_value=2.0):
  slow = np.zeros((3, 13))
  fast = np.zeros((3, 13))
  slow[:, 0], fast[:, 0] = slow_value, fast_value
  return synthetic.SpeedCorrection(ANCHORS, slow, fast)


def test_correction_is_zero_at_the_middle_exact_at_anchors_held_beyond():
  corr = _correction()
  phase = np.linspace(0, 1, 5)
  np.testing.assert_allclose(corr.table(1.0, phase), 0.0, atol=1e-12)
  np.testing.assert_allclose(corr.table(0.5, phase), 1.0, atol=1e-12)
  np.testing.assert_allclose(corr.table(1.55, phase), 2.0, atol=1e-12)
  np.testing.assert_allclose(corr.table(0.3, phase), 1.0, atol=1e-12)
  np.testing.assert_allclose(corr.table(1.85, phase), 2.0, atol=1e-12)
  between = corr.table(1.3, phase)[0, 0]
  assert 0.0 < between < 2.0
  assert corr.table(1.0, phase).shape == (3, 5)


def test_zero_correction_changes_nothing_and_default_changes_the_gait():
  kw = dict(seed=2, num_subjects=1, speeds=(0.5, 1.5), duration_s=4.0)
  zero = synthetic.make_able_bodied_cohort(
      speed_correction=synthetic.SpeedCorrection.zero(), **kw)
  dflt = synthetic.make_able_bodied_cohort(**kw)
  assert np.mean(np.abs(zero[0].angles - dflt[0].angles)) > 0.2


def test_band_levels_recover_within_person_changes_with_missing_cells():
  rng = np.random.default_rng(0)
  g = {"slow": rng.normal(size=(6, 101)), "fast": rng.normal(size=(6, 101))}
  cyc = np.full((5, 3, 6, 101), np.nan)
  for s in range(5):
    level = 10.0 * rng.normal(size=(6, 101))     # person levels differ a lot
    cyc[s, 0] = level + g["slow"]
    cyc[s, 1] = level
    cyc[s, 2] = level + g["fast"]
  cyc[0, 1] = np.nan          # a person without the middle band
  cyc[1, 2] = np.nan          # one without the fast band
  cyc[2, 0] = cyc[2, 2] = np.nan   # one with a single band: no information
  c = cc.CohortCycles("x", tuple("ABCDE"), cyc, np.ones((5, 3)))
  got = sc.band_levels(c)
  for band in ("slow", "fast"):
    np.testing.assert_allclose(got[band], g[band], atol=1e-9)
  none = cc.CohortCycles("y", ("A",), cyc[:1, :1].repeat(3, 1) * np.nan,
                         np.ones((1, 3)))
  with pytest.raises(DataError, match="band"):
    sc.band_levels(none)


def _with_knee_change(cohort, bump_deg):
  """The cohort with +bump_deg on both knees in its fast trials."""
  out = []
  for t in cohort:
    x = np.array(t.angles, np.float64)
    if t.speed_mps == ANCHORS[-1]:
      x[:, [1, 4]] += bump_deg
    out.append(Trial(t.subject, t.speed_mps, x, t.rate_hz, origin="test"))
  return out


def test_fit_recovers_an_injected_change_of_a_known_cohort():
  # "Real" = the uncorrected generator (other seed) plus 3 deg of knee at
  # fast: the fit must find that change and nothing else.
  base = synthetic.make_able_bodied_cohort(
      seed=7, num_subjects=8, speeds=ANCHORS, duration_s=32.0, rate_hz=100.0,
      speed_correction=synthetic.SpeedCorrection.zero())
  real = cc.cohort_cycles(_with_knee_change(base, 3.0), "real")
  corr = sc.fit_speed_correction(real, iterations=2, num_subjects=8, seed=7)
  assert corr.anchors_mps == ANCHORS
  np.testing.assert_allclose(corr.fast[1, 0], 3.0, atol=0.3)    # knee level
  assert np.abs(corr.fast[[0, 2], 0]).max() < 0.3
  assert np.abs(corr.slow).max() < 0.3
  fitted = sc.synthetic_cycles(corr, real.band_speeds(), num_subjects=8,
                               seed=7)
  assert np.max(cc.compare_pair(fitted, real, "slow", "fast").diff) < 0.3
  plain = sc.synthetic_cycles(synthetic.SpeedCorrection.zero(),
                              real.band_speeds(), num_subjects=8, seed=7)
  assert cc.compare_pair(plain, real, "slow", "fast").diff[1] > 2.5
  src = sc.correction_source(corr, "FITTED")
  namespace = {"SpeedCorrection": synthetic.SpeedCorrection, "np": np}
  exec(src, namespace)   # pylint: disable=exec-used
  np.testing.assert_allclose(namespace["FITTED"].fast, corr.fast, atol=6e-3)


def test_speed_correction_file_round_trip_and_errors(tmp_path):
  import json
  from gaitjax.errors import ConfigError
  corr = _correction(0.5, -1.0)
  path = tmp_path / "speed_correction.json"
  path.write_text(json.dumps(corr.to_dict()))
  back = synthetic.SpeedCorrection.load(str(path))
  assert back.anchors_mps == corr.anchors_mps
  np.testing.assert_allclose(back.fast, corr.fast)
  with pytest.raises(ConfigError, match="not found"):
    synthetic.SpeedCorrection.load(str(tmp_path / "missing.json"))
  bad = corr.to_dict()
  bad["slow"] = bad["slow"][:2]
  with pytest.raises(ConfigError, match="'slow' must be"):
    synthetic.SpeedCorrection.from_dict(bad, where="x.json")
  bad = corr.to_dict()
  bad["fast"][0][0] = float("nan")
  with pytest.raises(ConfigError, match="NaN"):
    synthetic.SpeedCorrection.from_dict(bad)
  with pytest.raises(ConfigError, match="anchors_mps"):
    synthetic.SpeedCorrection.from_dict(dict(corr.to_dict(),
                                             anchors_mps=[1.0, 0.5, 1.5]))


def test_build_uses_and_records_a_speed_correction_file(tmp_path):
  import json
  from gaitjax.data import dataset, tfds_builders
  from gaitjax.eval import bound
  path = tmp_path / "corr.json"
  path.write_text(json.dumps(_correction(0.0, 5.0).to_dict()))
  small = dict(num_subjects=3, speeds=(0.5, 1.55))
  (own,) = tfds_builders.build("synthetic_able_bodied", tmp_path / "own",
                               speed_correction=str(path), **small)
  tfds_builders.build("synthetic_able_bodied", tmp_path / "dflt", **small)
  rec = bound.build_record(tmp_path / "own", "synthetic_able_bodied")
  assert rec["speed_correction"]["fast"][1][0] == 5.0
  assert rec["generator"] == synthetic.GENERATOR_REVISION
  a = dataset.load_split(tmp_path / "own", "synthetic_able_bodied", "train")
  b = dataset.load_split(tmp_path / "dflt", "synthetic_able_bodied", "train")
  fast = a.speed == 1.55
  # +5 deg on every joint at the fast anchor vs the default correction.
  assert np.mean(a.x[fast] - b.x[fast]) > 2.0
  # The oracle regenerates the same people: with the build's correction.
  row = bound.OracleRow("bound", rec, a)
  assert row._subject(str(a.subject[0])).speed_correction is not None  # pylint: disable=protected-access
  # An edited file is another build; an older generator's build is refused.
  path.write_text(json.dumps(_correction(0.0, 4.0).to_dict()))
  with pytest.raises(DataError, match="different parameters.*speed_corr"):
    tfds_builders.build("synthetic_able_bodied", tmp_path / "own",
                        speed_correction=str(path), **small)
  with pytest.raises(DataError, match="generator revision"):
    bound.OracleRow("bound", dict(rec, generator="old"), a)
