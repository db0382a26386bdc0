"""cycle_regression: the PCA-ridge cycle-space baseline (issue 10)."""
import numpy as np
import pytest

from gaitjax.data import reference
from gaitjax.data import regression
from gaitjax.data import synthetic
from gaitjax.data.dataset import TrialSet
from gaitjax.data.preprocess import to_model_input
from gaitjax.errors import DataError
from gaitjax.gait import cycles
from gaitjax.eval import baseline_rows
from gaitjax.eval import evaluate as ev
from gaitjax.eval import selection
from gaitjax.eval import generators

RATE = 20.0
SPEEDS = (0.6, 0.9, 1.2, 1.5)


def synthetic_set(num_subjects=6, seed=0):
  trials = synthetic.make_able_bodied_cohort(
      seed=seed, num_subjects=num_subjects, speeds=SPEEDS, rate_hz=100.0)
  x = np.stack([to_model_input(t) for t in trials])
  return TrialSet.from_arrays(x, [t.speed_mps for t in trials],
                              [t.subject for t in trials])


@pytest.fixture(scope="module")
def cohort():
  return synthetic_set()


def toy_gait(speed, gain, t_len=400, response=1.0):
  """[T, 6] harmonic gait whose speed change scales with the subject's
  amplitude gain (a response the template cannot know, the regression can
  read from the source)."""
  period = 1.5 - 0.45 * speed
  w = 2 * np.pi * np.arange(t_len) / RATE / period
  amp = gain * (1.0 + 6.0 * response * (speed - 1.0) * (gain - 1.0)
                + 0.3 * speed)

  def leg(w):
    return [10 + 22 * amp * np.cos(w) + 3 * np.cos(2 * w + 0.3),
            35 + 18 * amp * np.cos(w + 1.2) + 6 * np.cos(2 * w + 0.5),
            2 + 9 * amp * np.cos(w + 2.0) + 4 * np.cos(2 * w + 1.0)]

  return np.stack(leg(w) + leg(w + np.pi), axis=1).astype(np.float32)


def toy_set(gains, speeds=(0.6, 0.8, 1.0, 1.2, 1.4), first=0, response=1.0):
  x, v, s = [], [], []
  for k, g in enumerate(gains):
    for speed in speeds:
      x.append(toy_gait(speed, g, response=response))
      v.append(speed)
      s.append(f"S{first + k:02d}")
  return TrialSet.from_arrays(np.stack(x), v, s)


def pair_mae(ts, predict):
  """Mean cycle MAE over all within-subject pairs with v_s != v_t."""
  out = []
  for i in range(len(ts)):
    idx = np.flatnonzero((ts.subject == ts.subject[i])
                         & (ts.speed != ts.speed[i]))
    for j in idx:
      out.append(cycles.cycle_mae(ts.x[j], predict(i, ts.speed[j]),
                                  RATE).mae)
  return float(np.nanmean(out))


def test_zero_weights_reproduce_the_template_exactly(cohort):
  model = regression.fit(cohort)
  zero = regression.CycleRegression(
      model.template, np.zeros(6), model.pca_mean, model.pca_basis,
      model.pca_scale, model.feature_scale, np.zeros_like(model.weights),
      np.zeros_like(model.cad_weights))
  for i in (0, 5):
    for v in (0.6, 1.5):
      got = zero.predict_source(cohort.x[i], cohort.speed[i], [v])[0]
      want = reference.template_baseline(cohort.x[i], cohort.speed[i], v,
                                         model.template)
      np.testing.assert_allclose(got, want, atol=1e-6)


def test_identity_pairs_keep_the_subjects_own_cycle(cohort):
  model = regression.fit(cohort)
  info = reference.cycle_info(cohort.x[3])
  cyc, cad = model.predict_cycles(info.mean, info.cadence, cohort.speed[3],
                                  [cohort.speed[3]])
  np.testing.assert_allclose(cyc[0], info.mean, atol=1e-9)
  assert cad[0] == pytest.approx(info.cadence)


def test_fits_and_beats_copy_source_on_a_tiny_synthetic_cohort(cohort):
  train = cohort.select(np.isin(cohort.subject, ["AB01", "AB02", "AB03",
                                                 "AB04"]))
  test = cohort.select(np.isin(cohort.subject, ["AB05", "AB06"]))
  model = regression.fit(train)
  assert model.num_subjects == 4 and model.num_pairs == 4 * 4 * 3
  assert np.isfinite(model.weights).all() and model.alpha in regression.ALPHAS
  reg = pair_mae(test, lambda i, v: model.predict_source(
      test.x[i], test.speed[i], [v])[0])
  copy = pair_mae(test, lambda i, v: test.x[i])
  assert reg < 0.8 * copy, (reg, copy)


def test_learns_an_amplitude_scaled_speed_response():
  """The toy speed change grows with the subject's amplitude: the template
  (population change) misses it, the regression reads it from the source."""
  train = toy_set(np.linspace(0.8, 1.2, 9))
  test = toy_set([0.82, 1.18], first=20)
  model = regression.fit(train, rate_hz=RATE)
  tmpl = pair_mae(test, lambda i, v: reference.template_baseline(
      test.x[i], test.speed[i], v, model.template, rate_hz=RATE))
  reg = pair_mae(test, lambda i, v: model.predict_source(
      test.x[i], test.speed[i], [v], rate_hz=RATE)[0])
  assert reg < 0.6 * tmpl, (reg, tmpl)
  assert model.cv["cycle_mse"][0] < model.cv["template_mse"]


def test_predictions_change_with_the_training_population():
  """Fitted on a population whose speed response grows with amplitude vs
  one where it shrinks: the same source gets different predictions."""
  src = toy_gait(0.8, 1.15)
  gains = np.linspace(0.8, 1.2, 7)
  a = regression.fit(toy_set(gains, response=1.0), rate_hz=RATE)
  b = regression.fit(toy_set(gains, response=-1.0), rate_hz=RATE)
  pa = a.predict_source(src, 0.8, [1.4], rate_hz=RATE)[0]
  pb = b.predict_source(src, 0.8, [1.4], rate_hz=RATE)[0]
  assert np.abs(pa - pb).mean() > 1.0
  assert a.amp_gain[0] > 0.5 > b.amp_gain[0]


def test_needs_three_subjects(cohort):
  with pytest.raises(DataError, match="3 training subjects"):
    regression.fit(cohort.select(np.isin(cohort.subject, ["AB01", "AB02"])))


def test_is_a_baseline_row_of_the_evaluation(cohort):
  train = cohort.select(np.isin(cohort.subject, ["AB01", "AB02", "AB03"]))
  test = cohort.select(np.isin(cohort.subject, ["AB05", "AB06"]))
  row = baseline_rows.RegressionBaseline(regression.fit(train))
  data = selection.CohortData(name="able_bodied", eval_set=test, pool=cohort)
  res = ev.evaluate_cohorts({}, [data], template=row.model.template,
                            randomised_encoding=False,
                            extra_rows={"cycle_regression": row},
                            num_samples=2)
  assert set(res) == {"copy_source", "population_mean", "cycle_template",
                      "cycle_regression"}
  recs = res["cycle_regression"]["able_bodied"]["records"]
  assert len(recs) == 2 * 4 * 4
  for name in res:                                  # deterministic rows
    assert all("coverage_90" not in r
               for r in res[name]["able_bodied"]["records"]), name
  copy = res["copy_source"]["able_bodied"]["summary"]["headline"]["mae"]
  assert res["cycle_regression"]["able_bodied"]["summary"]["headline"][
      "mae"] < copy
  assert generators.model_kind(row) == "simple"
  with pytest.raises(Exception, match="reserved"):
    ev.evaluate_cohorts({"cycle_regression": row}, [data],
                        template=row.model.template)


def test_round_trips_through_a_dict_and_serves_as_a_reference(cohort):
  """data.reference='regression': the fitted model survives the checkpoint's
  JSON, answers the template's questions, and its reference is its own
  prediction (which differs from the template reference)."""
  import json
  from gaitjax.errors import CheckpointError
  fitted = regression.fit(cohort)
  again = regression.model_from_dict(json.loads(json.dumps(fitted.to_dict())))
  assert isinstance(again, regression.CycleRegression)
  x_src, v_src = cohort.x[0], float(cohort.speed[0])
  np.testing.assert_allclose(again.predict_source(x_src, v_src, [1.5]),
                             fitted.predict_source(x_src, v_src, [1.5]),
                             atol=1e-9)
  assert isinstance(regression.model_from_dict(fitted.template.to_dict()),
                    reference.TemplateModel)
  np.testing.assert_array_equal(again.speeds, fitted.template.speeds)
  bad = fitted.to_dict()
  bad["weights"] = bad["weights"][:-1]
  with pytest.raises(CheckpointError, match="cycle regression"):
    regression.model_from_dict(bad)
  # Inference reference == the regression's own synthesis.
  ref = reference.make_reference("regression", x_src, v_src, 1.5, fitted)
  np.testing.assert_allclose(ref, fitted.predict_source(x_src, v_src,
                                                        [1.5])[0], atol=1e-6)
  tmpl = reference.make_reference("template", x_src, v_src, 1.5, fitted)
  assert np.abs(ref - tmpl).mean() > 1e-3
  # Without a regression it falls back to the template reference.
  fallback = reference.make_reference("regression", x_src, v_src, 1.5,
                                      fitted.template)
  np.testing.assert_allclose(
      fallback, reference.make_reference("template", x_src, v_src, 1.5,
                                         fitted.template))


def test_trains_with_the_regression_reference_and_generates(tiny_data_dir,
                                                             tmp_path):
  """data.reference='regression' end to end: fitted at train start, saved
  in the checkpoint in place of the template, loaded by the Generator,
  whose references are the regression's own predictions; fine-tuning from
  it keeps the pretrained regression."""
  import conftest
  from gaitjax.data import dataset as dataset_lib
  from gaitjax.generate import Generator
  from gaitjax.train import checkpoint as ckpt_lib
  from gaitjax.train import loop
  config = conftest.tiny_config(tiny_data_dir)
  config.data.reference = "regression"
  loop.train_and_evaluate(config, str(tmp_path / "run"))
  bundle = ckpt_lib.load_for_inference(tmp_path / "run", "best")
  assert bundle.template["kind"] == "cycle_regression"
  gen = Generator(str(tmp_path / "run"), num_steps=2)
  assert isinstance(gen.template, regression.CycleRegression)
  test = dataset_lib.load_split(tiny_data_dir, "synthetic_able_bodied",
                                "test")
  x, v = np.asarray(test.x[0], np.float64), float(test.speed[0])
  refs = gen._references(x[None], np.array([v]), np.array([[1.2]]))  # pylint: disable=protected-access
  np.testing.assert_allclose(refs[0, 0], gen.template.predict_source(
      x, v, [1.2])[0], atol=1e-4)
  out = gen.generate(test.x[0], v_src=v, v_tgt=[1.2])
  assert np.all(np.isfinite(out.mean))
  # init_from_stats='pretrained' keeps the prior's regression.
  ft = conftest.tiny_config(tiny_data_dir)
  ft.data.reference = "regression"
  ft.train.init_from = str(tmp_path / "run")
  ft.train.init_from_stats = "pretrained"
  ft.train.num_steps = 1
  loop.train_and_evaluate(ft, str(tmp_path / "ft"))
  assert ckpt_lib.load_for_inference(tmp_path / "ft", 1).template == (
      bundle.template)


def test_regression_reference_refuses_a_template_prior(tiny_checkpoint,
                                                        tiny_data_dir,
                                                        tmp_path):
  import conftest
  from gaitjax.errors import ConfigError
  from gaitjax.train import loop
  config = conftest.tiny_config(tiny_data_dir)
  config.data.reference = "regression"
  config.train.init_from = str(tiny_checkpoint)
  config.train.init_from_stats = "pretrained"
  with pytest.raises(ConfigError, match="cycle regression"):
    loop.train_and_evaluate(config, str(tmp_path / "ft"))


@pytest.mark.parametrize("channel", [0, 1, 5])
def test_a_constant_source_offset_moves_only_that_channel(cohort, channel):
  """Issue 11: a lab's angle convention (a constant per-channel offset)
  shifts the prediction by exactly that offset; the shape is unchanged."""
  # A light penalty, so that the shape corrections are far from zero.
  fitted = regression.fit(cohort, alphas=(1e-4,))
  assert fitted.offset_free and np.abs(fitted.weights).max() > 0.1
  x_src, v_src = cohort.x[0], float(cohort.speed[0])
  offset = np.zeros(6, np.float32)
  offset[channel] = 15.0
  base = fitted.predict_source(x_src, v_src, [1.5], rate_hz=RATE)[0]
  moved = fitted.predict_source(x_src + offset, v_src, [1.5],
                                rate_hz=RATE)[0]
  np.testing.assert_allclose(moved - base, np.broadcast_to(offset, base.shape),
                             atol=1e-3)
  # The first version's features (absolute deviations) do move the shape:
  # the check above can fail.
  legacy = regression.fit(cohort, alphas=(1e-4,), offset_free=False)
  moved = legacy.predict_source(x_src + offset, v_src, [1.5], rate_hz=RATE)[0]
  shift = moved - legacy.predict_source(x_src, v_src, [1.5], rate_hz=RATE)[0]
  assert np.abs(shift - offset).max() > 0.05


def test_regressions_saved_before_offset_free_features_load_as_they_were(
    cohort):
  old = regression.fit(cohort).to_dict()
  del old["offset_free"]
  old["version"] = 1
  assert not regression.CycleRegression.from_dict(old).offset_free


def test_loso_template_leaves_the_source_subject_out(cohort):
  """cycle_template_loso: the template of the OTHER subjects, never the
  source's own (its targets would leak into its prediction)."""
  row = baseline_rows.LosoTemplateBaseline(cohort)
  i = int(np.flatnonzero(cohort.subject == "AB02")[0])
  others = cohort.select(cohort.subject != "AB02")
  expected = reference.template_baseline(
      cohort.x[i], float(cohort.speed[i]), 1.2,
      reference.TemplateModel.fit(others))
  got = row.predict_source(cohort.x[i], float(cohort.speed[i]), [1.2])[0]
  np.testing.assert_allclose(got, expected, atol=1e-5)
  with_self = reference.template_baseline(
      cohort.x[i], float(cohort.speed[i]), 1.2,
      reference.TemplateModel.fit(cohort))
  assert float(np.abs(got - with_self).max()) > 1e-3
  with pytest.raises(DataError, match="not a trial"):
    row.predict_source(cohort.x[i] + 1.0, float(cohort.speed[i]), [1.2])
  with pytest.raises(DataError, match=">= 3 subjects"):
    baseline_rows.LosoTemplateBaseline(
        cohort.select(np.isin(cohort.subject, ["AB01", "AB02"])))


def test_speed_terms_are_held_beyond_the_trained_speeds(cohort):
  """A source slower than any training trial gets the corrections of the
  slowest trained speed (as the template's population cycle does), not an
  extrapolation of ln(v_t / v_s) and v_t - v_s."""
  model = regression.fit(cohort)
  lo = float(model.speeds[0])
  i = int(np.flatnonzero(cohort.speed == cohort.speed.min())[0])
  info = reference.cycle_info(cohort.x[i])
  held = model.features(info.mean, info.cadence, lo, np.array([1.2]))
  below = model.features(info.mean, info.cadence, lo - 0.3, np.array([1.2]))
  # Every column but the cadence trait's (g a: the cadence curve itself
  # continues beyond the fitted speeds) equals the held value.
  np.testing.assert_allclose(below[:, :-1], held[:, :-1], rtol=1e-12)
  # And nothing is corrected between two speeds below the trained range.
  both = model.features(info.mean, info.cadence, lo - 0.3,
                        np.array([lo - 0.1]))
  np.testing.assert_allclose(both, 0.0, atol=1e-12)


def test_corrections_are_held_within_the_training_range(cohort):
  """A source far outside the training population (its deviation from the
  population cycle exaggerated 6x) gets no stage-2 correction beyond the
  range each cycle point took on the training pairs; without the bound it
  does. A training source's prediction is unchanged."""
  import dataclasses
  model = regression.fit(cohort)
  lo, hi = model.correction_range
  assert lo.shape == (606,) and np.all(lo <= hi)
  i = int(np.flatnonzero(cohort.speed == 0.6)[0])
  info = reference.cycle_info(cohort.x[i])
  v_src = float(cohort.speed[i])
  pop = model.population_cycle(v_src)
  outlier = pop + 6.0 * (info.mean - pop)
  f = model.features(outlier, info.cadence, v_src, np.array([1.5]))
  raw = (f @ model.weights)[0]
  assert np.any(raw < lo - 1e-6) or np.any(raw > hi + 1e-6)
  unbounded = dataclasses.replace(model, correction_range=None)
  cyc, _ = model.predict_cycles(outlier, info.cadence, v_src, [1.5])
  cyc_free, _ = unbounded.predict_cycles(outlier, info.cadence, v_src, [1.5])
  base, scaled = model.template_parts(outlier, v_src, np.array([1.5]))
  corr = (cyc - base - model.amp_gain[None, :, None] * scaled).reshape(-1)
  assert np.all(corr >= lo - 1e-9) and np.all(corr <= hi + 1e-9)
  assert np.abs(cyc - cyc_free).max() > 1e-3
  # In range: the bound changes nothing.
  np.testing.assert_allclose(
      model.predict_cycles(info.mean, info.cadence, v_src, [1.5])[0],
      unbounded.predict_cycles(info.mean, info.cadence, v_src, [1.5])[0],
      atol=1e-12)
  # Saved and loaded with the model; older saves load without it.
  d = model.to_dict()
  np.testing.assert_array_equal(
      regression.CycleRegression.from_dict(d).correction_range,
      model.correction_range)
  del d["correction_range"]
  assert regression.CycleRegression.from_dict(d).correction_range is None
