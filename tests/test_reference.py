"""Tests for gaitjax.data.reference (residual references, TemplateModel)."""
import json
import time
import types

import numpy as np
import pytest

from gaitjax.data import reference
from gaitjax.errors import CheckpointError, ConfigError, DataError
from gaitjax.gait import cycles

RATE = 20.0


def cad_of(v):
  """Population cadence law of the synthetic cohort (steps/min)."""
  return 80.0 + 30.0 * v


def gait(period_s, num_samples=600, phase=0.0, amp=20.0, offset=0.0,
         wobble=0.0, noise=0.0, seed=0):
  """[T, 6] harmonics; ``wobble`` modulates the phase (uneven cycles)."""
  t = np.arange(num_samples) / RATE
  base = t / period_s + phase + wobble * np.sin(2 * np.pi * t / 9.0)
  cols = []
  for leg in (0.0, 0.5):
    w = 2 * np.pi * (base + leg)
    cols += [amp * np.cos(w) + 3 * np.cos(2 * w + 0.5) + 10 + offset,
             30 - 25 * np.cos(2 * w) + 10 * np.sin(w) + offset,
             5 * np.sin(w) + 8 * np.sin(2 * w + 1) - offset]
  x = np.stack(cols, axis=1)
  return x + noise * np.random.default_rng(seed).standard_normal(x.shape)


def subject_at(v, offset, phase=0.0, **kw):
  """A subject whose speed change equals the population's."""
  return gait(120.0 / cad_of(v), amp=15 + 5 * v, offset=offset, phase=phase,
              **kw)


@pytest.fixture(scope="module")
def template():
  speeds = np.array([0.6, 1.0, 1.4] * 3, np.float32)
  subjects = np.repeat(["a", "b", "c"], 3)
  offsets = np.repeat([0.0, 2.0, -3.0], 3)
  x = np.stack([subject_at(v, o, phase=0.1 * i)
                for i, (v, o) in enumerate(zip(speeds, offsets))])
  return reference.TemplateModel.fit(x, speeds, RATE, subjects)


def test_template_fit_cadence_and_cycles(template):
  np.testing.assert_allclose(template.speeds, [0.6, 1.0, 1.4])
  np.testing.assert_array_equal(template.num_subjects, [3, 3, 3])
  for v in (0.6, 0.8, 1.4):
    assert template.population_cadence(v) == pytest.approx(cad_of(v),
                                                           rel=0.002)
  # Linear extrapolation of the (here linear) fit beyond the range.
  assert template.population_cadence(2.0) == pytest.approx(cad_of(2.0),
                                                           rel=0.005)
  mid = template.population_cycle(0.8)
  np.testing.assert_allclose(
      mid, 0.5 * (template.cycles[0] + template.cycles[1]), atol=1e-12)
  np.testing.assert_array_equal(template.population_cycle(3.0),
                                template.cycles[-1])
  assert template.population_cycle(1.0).shape == (6, 101)


def test_template_speed_change_ignores_who_walked_at_which_speed():
  """Real people walk at their own speeds: a slow-only subject with a low
  offset and a fast-only one with a high offset must not turn into a
  population speed change. Every subject here changes exactly like
  subject_at (offset fixed per subject), so the fitted change between two
  speeds must be the subjects' own change, whatever their levels."""
  rows = [("a", 0.6, 0.0), ("a", 1.0, 0.0), ("b", 1.0, 6.0),
          ("b", 1.4, 6.0), ("c", 0.6, -4.0), ("c", 1.4, -4.0),
          ("d", 0.6, -8.0), ("e", 1.4, 9.0)]
  x = np.stack([subject_at(v, o) for _, v, o in rows])
  speed = np.array([v for _, v, _ in rows])
  subject = np.array([s for s, _, _ in rows])
  fitted = reference.TemplateModel.fit(x, speed, RATE, subject)
  truth = reference.TemplateModel.fit(
      np.stack([subject_at(v, 0.0) for v in (0.6, 1.0, 1.4)]),
      np.array([0.6, 1.0, 1.4]), RATE)
  change = fitted.cycles[-1] - fitted.cycles[0]
  true_change = truth.cycles[-1] - truth.cycles[0]
  np.testing.assert_allclose(change, true_change, atol=0.2)
  # The per-speed mean would have put d's and e's offsets into it.
  naive = x[speed == 1.4, :, 0].mean() - x[speed == 0.6, :, 0].mean()
  assert abs(naive - true_change[0].mean()) > 5.0
  assert np.all(fitted.num_subjects == [3, 2, 3])


def test_speed_curve_without_penalty_is_the_per_speed_mean(monkeypatch):
  """Every subject at every speed: the unpenalised within-subject fit is
  the plain mean over subjects at each speed."""
  rng = np.random.default_rng(0)
  subject = np.repeat(np.arange(4), 3)
  speed = np.tile([0.5, 1.0, 1.5], 4)
  values = rng.normal(size=(12, 5)) + subject[:, None]
  monkeypatch.setattr(reference, "CURVE_PENALTIES", (0.0,))
  got = reference._speed_curve(subject, speed, values,
                               np.array([0.5, 1.0, 1.5]))
  want = np.stack([values[speed == v].mean(0) for v in (0.5, 1.0, 1.5)])
  np.testing.assert_allclose(got, want, atol=1e-6)


def test_template_round_trip_through_json(template):
  d = json.loads(json.dumps(template.to_dict()))
  back = reference.TemplateModel.from_dict(d)
  np.testing.assert_allclose(back.cycles, template.cycles)
  np.testing.assert_allclose(back.speeds, template.speeds)
  for v in (0.3, 0.7, 1.2, 2.5):
    assert back.population_cadence(v) == template.population_cadence(v)
  bad = dict(d)
  del bad["cycles"]
  with pytest.raises(CheckpointError, match="cycles"):
    reference.TemplateModel.from_dict(bad)


def test_template_fit_accepts_trialset_like_and_rejects_flat():
  x = np.stack([subject_at(0.8, 0.0), subject_at(1.2, 0.0)])
  ts = types.SimpleNamespace(x=x, speed=np.array([0.8, 1.2]),
                             subject=np.array(["s", "s"]))
  tm = reference.TemplateModel.fit(ts)
  assert tm.speeds.tolist() == [0.8, 1.2]
  with pytest.raises(DataError):
    reference.TemplateModel.fit(np.zeros((2, 600, 6)), np.array([1.0, 1.2]))


def test_expected_cadence_scales_by_population_ratio(template):
  got = reference.expected_cadence(100.0, 0.6, 1.4, template)
  assert got == pytest.approx(100.0 * cad_of(1.4) / cad_of(0.6), rel=0.003)


def test_source_reference_is_x_src(template):
  xs = subject_at(0.6, 1.0)
  assert reference.make_reference("source", xs, 0.6, 1.4, template) is xs
  with pytest.raises(ConfigError):
    reference.make_reference("mirror", xs, 0.6, 1.4, template)


def test_template_reference_reproduces_target_mean_cycle(template):
  xs = subject_at(0.6, 5.0, phase=0.2)
  xt = subject_at(1.4, 5.0, phase=0.7)
  ref = reference.template_baseline(xs, 0.6, 1.4, template, RATE)
  assert ref.shape == xs.shape
  res = cycles.cycle_mae(xt, ref, RATE)
  assert res.mae < 0.75 and res.r > 0.99
  assert cycles.cycle_mae(xt, xs, RATE).mae > 1.5      # the source is not
  # Timing comes from the expected cadence.
  assert cycles.cadence(ref, RATE) == pytest.approx(cad_of(1.4), rel=0.01)


def test_warped_reference_has_expected_cadence(template):
  xs = subject_at(0.6, 0.0, noise=0.5)
  ref = reference.make_reference("warped", xs, 0.6, 1.4, template)
  assert cycles.cadence(ref, RATE) == pytest.approx(
      cycles.cadence(xs, RATE) * cad_of(1.4) / cad_of(0.6), rel=0.01)
  # Same speed: warping leaves the source (nearly) as it is.
  same = reference.make_reference("warped", xs, 0.6, 0.6, template)
  assert np.mean(np.abs(same - xs)) < 1.0


@pytest.mark.parametrize("kind", ["warped", "template"])
def test_target_timing_boundaries_coincide(template, kind):
  xs = gait(1.2, phase=0.1)
  xt = gait(0.95, phase=0.6, wobble=0.3, noise=0.3)   # uneven cycles
  ref = reference.make_reference(kind, xs, 0.8, 1.4, template, x_tgt=xt)
  for hip in (0, 3):
    bt = cycles.detect_cycles(xt[:, hip], RATE)
    br = cycles.detect_cycles(ref[:, hip], RATE)
    assert len(bt) == len(br) and len(bt) > 25
    assert np.max(np.abs(bt - br)) <= 1
  # The raw source's boundaries do not.
  bs = cycles.detect_cycles(xs[:, 0], RATE)
  assert len(bs) != len(cycles.detect_cycles(xt[:, 0], RATE))


def test_fallbacks_on_flat_signals(template):
  flat = np.full((600, 6), 5.0, np.float32)
  xs = subject_at(0.6, 0.0)
  for kind in reference.KINDS:
    assert reference.make_reference(kind, flat, 0.6, 1.4, template) is flat
    # Undetectable target: the inference timing is used, the kind is kept
    # (a plain template cannot regress, so 'regression' falls back to it).
    info = reference.cycle_info(xs)
    flat_info = reference.cycle_info(flat)
    expected = "template" if kind == "regression" else kind
    assert reference.effective_kind(kind, info, template, flat_info) == expected
    ref = reference.make_reference(kind, xs, 0.6, 1.4, template, x_tgt=flat)
    assert ref.shape == xs.shape and np.all(np.isfinite(ref))
  assert reference.effective_kind("template", reference.cycle_info(xs), None) \
      == "source"
  assert reference.effective_kind(
      "template", reference.cycle_info(xs), None,
      reference.cycle_info(gait(1.0))) == "warped"


def test_synthesize_from_cycles_cadence_and_phase():
  mc = cycles.mean_cycles(gait(1.0), RATE).mean
  out = reference.synthesize_from_cycles(mc, 96.0, 600, RATE,
                                         {"right": 0.0, "left": 0.5})
  assert out.shape == (600, 6)
  assert cycles.cadence(out, RATE) == pytest.approx(96.0, rel=0.005)
  closed = reference._close_cycle(mc)
  np.testing.assert_allclose(closed[:, 0], closed[:, -1])
  np.testing.assert_allclose(out[0, :3], closed[:3, 0])      # right at 0 %
  np.testing.assert_allclose(out[0, 3:], closed[3:, 50])     # left at 50 %
  b = np.arange(0, 600, 25.0)
  tiled = reference.synthesize_from_cycles(mc, 96.0, 600, RATE,
                                           {"right": b, "left": b + 12.5})
  np.testing.assert_array_equal(
      cycles.detect_cycles(tiled[:, 0], RATE) % 25, 0)


def test_make_reference_speed(template):
  xs, xt = subject_at(0.6, 0.0), subject_at(1.4, 0.0, phase=0.3)
  si, ti = reference.cycle_info(xs), reference.cycle_info(xt)
  n = 100
  for kind in ("warped", "template"):
    t0 = time.perf_counter()
    for _ in range(n):
      ref = reference.make_reference(kind, xs, 0.6, 1.4, template, x_tgt=xt)
    t1 = time.perf_counter()
    for _ in range(n):
      ref2 = reference.make_reference_from_info(kind, xs, si, 0.6, 1.4,
                                                template, tgt_info=ti)
    t2 = time.perf_counter()
    print(f"{kind}: make_reference {n / (t1 - t0):.0f}/s,"
          f" make_reference_from_info {n / (t2 - t1):.0f}/s (T=600)")
    np.testing.assert_allclose(ref, ref2)


def test_reference_timing_option_in_the_pipeline():
  """data.reference_timing='inference' builds training and validation
  references exactly as generation does (no look at x_tgt); 'target' (the
  default, also for configs saved before the key) follows x_tgt's cycles."""
  import ml_collections
  from gaitjax.data import dataset, normalize, pipeline, synthetic
  ts = dataset.TrialSet.from_trials(synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=2, speeds=[0.6, 1.2]))
  stats = normalize.fit_stats(ts.x)
  template = pipeline.fit_template(ts)
  base = dict(reference="template", swap_sides_prob=0.0, num_train_pairs=0,
              pair_fractions=(0.0, 0.0, 1.0), near_threshold_mps=0.1,
              source_speeds=(), rate_hz=20.0)
  out = {}
  for timing in ("target", "inference", None):
    cfg = dict(base)
    if timing is not None:
      cfg["reference_timing"] = timing
    cfg = ml_collections.ConfigDict(cfg)
    sampler = pipeline.PairSampler(ts, stats, template, cfg, 4, 1, seed=0)
    p = sampler.pairs(0)
    val = next(pipeline.fixed_pairs_batches(ts, p, stats, template, cfg, 4))
    out[timing] = (p, sampler.batch(0)["x_ref"][0], val["x_ref"][0])
  p, train_ref, val_ref = out["inference"]
  infos = reference.precompute_cycles(ts.x)
  at_inference = np.stack([stats.normalize(reference.make_reference_from_info(
      "template", ts.x[i], infos[i], float(ts.speed[i]), float(ts.speed[j]),
      template, tgt_info=None)) for i, j in p])
  np.testing.assert_allclose(train_ref, at_inference, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(val_ref, at_inference, rtol=1e-5, atol=1e-5)
  # 'target' differs (it follows x_tgt), and is what a config without the
  # key gets, for training and validation alike.
  assert not np.allclose(out["target"][1], at_inference, atol=1e-3)
  np.testing.assert_array_equal(out[None][1], out["target"][1])
  np.testing.assert_array_equal(out[None][2], out["target"][2])
  np.testing.assert_array_equal(out["target"][1], out["target"][2])
  bad = ml_collections.ConfigDict(dict(base, reference_timing="oracle"))
  with pytest.raises(ConfigError, match="reference_timing"):
    pipeline.PairSampler(ts, stats, template, bad, 4, 1, seed=0)
