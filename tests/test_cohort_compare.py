"""Tests of the cohort comparison (issue 17): the function on synthetic
inputs with a known injected difference, and the synthetic generator's
slow -> fast change against the 8 real people of Fukuchi 2018."""
import numpy as np
import pytest

from gaitjax import constants
from gaitjax.data import synthetic
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError
from gaitjax.eval import cohort_compare as cc

# The issue 17 goal: 1 deg per channel. Reached with the fitted
# DEFAULT_SPEED_CORRECTION (slow -> fast max 0.82 deg; 2.47 before it, 3.49
# before the first recalibration).
SLOW_TO_FAST_TOL_DEG = 1.0
SPEEDS = (0.5, 1.0, 1.55)


def _cohort(prefix, bump_deg=0.0, n=6):
  """n synthetic subjects at SPEEDS; the fast trials' right knee + bump_deg."""
  trials = synthetic.make_able_bodied_cohort(
      seed=3, num_subjects=n, speeds=SPEEDS, duration_s=15.0, rate_hz=50.0,
      subject_prefix=prefix)
  out = []
  for t in trials:
    x = np.array(t.angles, np.float64)
    if t.speed_mps == SPEEDS[-1]:
      x[:, 1] += bump_deg
    out.append(Trial(t.subject, t.speed_mps, x, t.rate_hz,
                     origin="synthetic"))
  return cc.cohort_cycles(out, prefix)


def test_injected_change_difference_is_found_on_that_channel_only():
  a = _cohort("AA")
  b = _cohort("AA", bump_deg=4.0)
  comps = {(c.a, c.b): c for c in cc.compare(b, a)}
  np.testing.assert_allclose(comps["slow", "fast"].diff,
                             [0, 4.0, 0, 0, 0, 0], atol=1e-6)
  np.testing.assert_allclose(comps["middle", "fast"].diff[1], 4.0, atol=1e-6)
  assert np.all(comps["slow", "middle"].diff < 1e-9)
  # A constant offset in every band is not a change; the hip's cycle-mean
  # change is dropped unless asked for.
  same = cc.compare(a, a)
  assert all(np.all(c.diff == 0) for c in same)
  lopo = cc.leave_one_out(b, a, pairs=[("slow", "fast")])
  assert len(lopo) == 6
  # 6 subjects: leaving one out moves the others' change by their scatter
  # (up to ~1.4 deg on a channel), well below the injected 4 deg.
  for r in lopo:
    assert r.syn_vs_7[1] > 3.0 and np.all(r.syn_vs_7[[0, 2, 3, 4, 5]] < 2.0)
    assert np.all(np.isfinite(r.person_vs_7))


def test_level_free_removes_only_the_chosen_joints_means():
  change = np.ones((6, 101)) * 2.0
  out = cc.level_free(change, ("hip",))
  assert np.all(out[[0, 3]] == 0) and np.all(out[[1, 2, 4, 5]] == 2.0)


def test_missing_band_and_folder_errors_are_one_line(tmp_path):
  slow_only = [t for t in synthetic.make_able_bodied_cohort(
      num_subjects=2, speeds=(0.5,), duration_s=12.0, rate_hz=50.0)]
  c = cc.cohort_cycles(slow_only, "slow only")
  with pytest.raises(DataError, match="both the slow .* and fast"):
    cc.population_change(c, "slow", "fast")
  with pytest.raises(DataError, match="no trial has a speed"):
    cc.cohort_cycles([Trial("X", 3.5, slow_only[0].angles, 50.0)], "x")
  with pytest.raises(DataError, match="not found"):
    cc.load_folder_cohort(tmp_path / "absent")


def test_figure_is_written(tmp_path):
  a, b = _cohort("AA", n=3), _cohort("BB", bump_deg=2.0, n=3)
  path = cc.plot_comparison(tmp_path / "c.png", b, a)
  assert (tmp_path / "c.png").stat().st_size > 10_000 and path.endswith(
      "c.png")


def test_synthetic_slow_to_fast_change_matches_the_real_people(shared_data):
  root = shared_data / "fukuchi2018" / "wbds_multispeed" / "folder"
  if not root.is_dir():
    pytest.skip(f"{root} not found")
  real = cc.load_folder_cohort(root)
  speeds = [round(v, 2) for v in real.band_speeds().values()]
  syn = cc.cohort_cycles(synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=48, speeds=speeds, duration_s=32.0,
      rate_hz=100.0), "synthetic", band_speeds=real.band_speeds())
  for comp in cc.compare(syn, real):
    print(f"{comp.a}->{comp.b} synthetic - real per channel (deg):",
          np.round(comp.diff, 2).tolist())
    assert comp.n_real >= 5
    assert np.all(comp.diff < SLOW_TO_FAST_TOL_DEG), (
        comp.a, comp.b, dict(zip(constants.CHANNELS, np.round(comp.diff, 2))))
  # And it is the fitted correction that does it: without it the knee's
  # slow -> fast change is ~2.5 deg off.
  plain = cc.cohort_cycles(synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=48, speeds=speeds, duration_s=32.0,
      rate_hz=100.0, speed_correction=synthetic.SpeedCorrection.zero()),
      "uncorrected", band_speeds=real.band_speeds())
  assert np.max(cc.compare_pair(plain, real, "slow", "fast").diff) > 2.0
