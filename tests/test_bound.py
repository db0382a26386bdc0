"""Speed-response switch, the oracle bound and the noise floor (issue 10)."""
import numpy as np
import pytest

from gaitjax.data import synthetic
from gaitjax.data import tfds_builders
from gaitjax.data.preprocess import to_model_input
from gaitjax.errors import ConfigError, DataError
from gaitjax.eval import bound
from gaitjax.gait import cycles
from gaitjax.eval import evaluate as ev
from gaitjax.eval import selection

RATE = 20.0


def subjects(mode, n=300, seed=0):
  return [synthetic._draw_subject(seed, "able_bodied", i,  # pylint: disable=protected-access
                                  speed_response=mode) for i in range(n)]


def gain_mult(subs):
  g = np.log(np.concatenate([s.joint_gain for s in subs]))
  m = np.concatenate([s.speed_mult for s in subs])
  return g, m


def test_speed_response_is_correlated_with_the_gain_only_when_asked():
  g, m = gain_mult(subjects("correlated"))
  gu, mu = gain_mult(subjects("uncorrelated"))
  assert np.corrcoef(g, m)[0, 1] > 0.35
  assert abs(np.corrcoef(gu, mu)[0, 1]) < 0.15
  # Same marginal distribution of the multiplier, same traits otherwise.
  assert mu.mean() == pytest.approx(m.mean(), abs=0.04)
  assert mu.std() == pytest.approx(m.std(), rel=0.15)
  np.testing.assert_array_equal(gu, g)
  a, b = subjects("correlated", 3), subjects("uncorrelated", 3)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x.coef0, y.coef0)
    assert x.cad_gain == y.cad_gain and x.stance_shift == y.stance_shift
    assert not np.allclose(x.coef_u, y.coef_u)
    # Uncorrelated: nothing of the multiplier is knowable.
    np.testing.assert_allclose(
        y.coef_u_known[:, 1:] / np.linalg.norm(y.coef_u_known[:, 1:], axis=1,
                                               keepdims=True),
        x.coef_u_known[:, 1:] / np.linalg.norm(x.coef_u_known[:, 1:], axis=1,
                                               keepdims=True), atol=1e-12)


def test_default_cohort_is_unchanged_by_the_switch():
  a = synthetic.make_able_bodied_cohort(num_subjects=2, speeds=[1.0],
                                        duration_s=4.0)
  b = synthetic.make_able_bodied_cohort(num_subjects=2, speeds=[1.0],
                                        duration_s=4.0,
                                        speed_response="correlated")
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x.angles, y.angles)
  with pytest.raises(ConfigError, match="speed_response"):
    synthetic.make_able_bodied_cohort(num_subjects=1, speeds=[1.0],
                                      speed_response="sometimes")


def mae(a, b):
  return cycles.cycle_mae(a, b, RATE).mae


def test_bound_and_noise_floor_on_synthetic_subjects():
  speeds = (0.6, 1.5)
  trials = synthetic.make_able_bodied_cohort(seed=0, num_subjects=4,
                                             speeds=speeds, rate_hz=100.0)
  x = {(t.subject, t.speed_mps): to_model_input(t) for t in trials}
  b_far, c_far, b_same, floor = [], [], [], []
  for i in range(4):
    subj = synthetic.subject(f"AB{i + 1:02d}", seed=0)
    name = subj.name
    for v_s, v_t in ((0.6, 1.5), (1.5, 0.6)):
      pred = to_model_input(synthetic.knowable_trial(subj, v_s, v_t,
                                                     rate_hz=100.0))
      b_far.append(mae(x[name, v_t], pred))
      c_far.append(mae(x[name, v_t], x[name, v_s]))
    same = to_model_input(synthetic.knowable_trial(subj, 1.5, 1.5,
                                                   rate_hz=100.0))
    b_same.append(mae(x[name, 1.5], same))
    rep = to_model_input(synthetic.repeat_trial(subj, 1.5, seed=0,
                                                rate_hz=100.0))
    floor.append(mae(x[name, 1.5], rep))
    assert not np.allclose(rep, x[name, 1.5])
  # The bound knows the traits: far better than copying the source across
  # 0.9 m/s; at the source speed it is the noise-free gait itself.
  assert np.mean(b_far) < 0.5 * np.mean(c_far)
  assert np.mean(b_same) < 0.9
  assert 0.2 < np.mean(floor) < 1.5


def test_subject_lookup():
  s = synthetic.subject("SP007", seed=2, subject_prefix="SP")  # = SP07
  assert s.name == "SP07" and s.index == 6
  with pytest.raises(ConfigError):
    synthetic.subject("XX01", seed=0)


@pytest.fixture(scope="module")
def uncorrelated_build(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("uncorr")
  tfds_builders.build("synthetic_able_bodied_uncorrelated", data_dir,
                      num_subjects=6, speeds=(0.7, 1.1, 1.5))
  return data_dir


def test_uncorrelated_build_records_its_switch(uncorrelated_build):
  rec = bound.build_record(uncorrelated_build,
                           "synthetic_able_bodied_uncorrelated")
  assert rec["speed_response"] == "uncorrelated"
  data = selection.load_cohort(uncorrelated_build,
                        "synthetic_able_bodied_uncorrelated", "test",
                        "able_bodied")
  row = bound.OracleRow("bound", rec, data.pool)
  assert row.speed_response == "uncorrelated"
  with pytest.raises(DataError, match="not a trial"):
    row.subject_of(np.zeros((600, 6), np.float32))


def test_evaluation_has_bound_and_noise_floor_rows(uncorrelated_build,
                                                   tmp_path):
  res = ev.evaluate({}, data_dir=str(uncorrelated_build),
                    out_dir=str(tmp_path),
                    able_bodied_dataset="synthetic_able_bodied_uncorrelated",
                    stroke_dataset=None, randomised_encoding=False,
                    make_figures=False)
  assert {"cycle_regression", "bound", "bound_recording",
          "noise_floor"} <= set(res)
  h = {m: res[m]["able_bodied"]["summary"]["headline"]["mae"] for m in res}
  assert h["bound"] < h["copy_source"]
  assert h["noise_floor"] < h["copy_source"]
  # The recording bound carries the source recording's own noise: never
  # better than the noise-free bound, far better than copying the source.
  assert h["bound"] < h["bound_recording"] < 0.6 * h["copy_source"]
  md = (tmp_path / "report.md").read_text()
  assert "| bound" in md and "| noise_floor" in md
  assert "| bound_recording" in md


def test_bound_recording_is_the_template_with_the_oracle_change(
    uncorrelated_build):
  """At v_tgt = v_src it reproduces the source's own mean cycle; across
  speeds it moves the source by the knowable change."""
  from gaitjax.data import reference
  rec = bound.build_record(uncorrelated_build,
                           "synthetic_able_bodied_uncorrelated")
  data = selection.load_cohort(uncorrelated_build,
                        "synthetic_able_bodied_uncorrelated", "test",
                        "able_bodied")
  row = bound.OracleRow("bound_recording", rec, data.pool)
  x_src = np.asarray(data.pool.x[0], np.float64)
  v = float(data.pool.speed[0])
  src = reference.cycle_info(x_src)
  same = reference.cycle_info(row.predict_source(x_src, v, [v])[0])
  assert np.abs(same.mean - src.mean).mean() < 0.3
  far = row.predict_source(x_src, v, [v + 0.8])[0]
  moved = reference.cycle_info(far)
  name = row.subject_of(x_src)
  change = row._knowable(name, v, v + 0.8).mean - row._knowable(  # pylint: disable=protected-access
      name, v, v).mean
  assert np.abs(change).mean() > 1.0
  # (re-detecting cycles on the tiled output costs a few tenths)
  assert np.abs((moved.mean - src.mean) - change).mean() < 0.6


def test_no_oracle_rows_without_a_synthetic_build_record(tmp_path):
  with pytest.raises(DataError, match="build record"):
    bound.build_record(tmp_path, "synthetic_able_bodied")
  with pytest.raises(DataError, match="synthetic able-bodied"):
    bound.OracleRow("bound", {"source": "camargo"}, None)


def test_builder_configs_for_issue_10():
  configs = {c.name: c for c in tfds_builders.GaitjaxGait.BUILDER_CONFIGS}
  default = configs["synthetic_able_bodied"]
  unc = configs["synthetic_able_bodied_uncorrelated"]
  pop = configs["synthetic_population"]
  assert unc.speed_response == "uncorrelated"
  assert (unc.cohort_seed, unc.num_subjects, unc.split_seed) == (
      default.cohort_seed, default.num_subjects, default.split_seed)
  assert pop.cohort_seed != default.cohort_seed
  assert pop.subject_prefix != default.subject_prefix
  assert pop.num_subjects == 300 and pop.num_test_subjects == 0
  assert pop.num_train_subjects + pop.num_val_subjects == pop.num_subjects
  # Builds made before the switch existed keep matching their record.
  params = tfds_builders.build_params(default)
  assert "speed_response" not in params and "subject_prefix" not in params
  assert tfds_builders.build_params(unc)["speed_response"] == "uncorrelated"
  assert "synthetic_population" not in tfds_builders.SYNTHETIC  # not in
  # all_synthetic: 300 subjects take minutes to build


def test_regression_dataset_option(uncorrelated_build):
  from gaitjax.eval import extra_rows
  rows, notes, info = extra_rows.build_rows(
      str(uncorrelated_build), "synthetic_able_bodied_uncorrelated",
      with_oracle=False, regression_dataset="synthetic_able_bodied_uncorrelated")
  assert set(rows) == {"cycle_regression"}
  assert info["cycle_regression"]["dataset"] == (
      "synthetic_able_bodied_uncorrelated")
  rows, notes, _ = extra_rows.build_rows(
      str(uncorrelated_build), "synthetic_able_bodied_uncorrelated",
      with_oracle=False, regression_dataset="synthetic_population")
  assert rows == {} and "cycle_regression left out" in notes[0]
