"""Pairs (categories, balance, |dv| coverage) and the batch pipeline."""
import ml_collections
import numpy as np
import pytest

from gaitjax import constants
from gaitjax.bench import pipeline as bench_pipeline
from gaitjax.data import dataset, normalize, pairs, pipeline, synthetic
from gaitjax.errors import ConfigError

GRID = np.round(np.arange(0.5, 1.8501, 0.05), 2)  # the paper's 28 speeds


def _grid_set(num_subjects=3, speeds=GRID, seed=0, t=600):
  """A TrialSet with arbitrary (not gait-like) values: for index logic."""
  rng = np.random.default_rng(seed)
  subj = np.repeat([f"S{i}" for i in range(num_subjects)], len(speeds))
  v = np.tile(np.asarray(speeds, np.float32), num_subjects)
  x = rng.normal(10.0, 5.0, (len(v), t, 6)).astype(np.float32)
  return dataset.TrialSet.from_arrays(x, v, subj)


@pytest.fixture(scope="module")
def gait():
  """Small real-looking cohort (for the cycle-based references)."""
  return dataset.TrialSet.from_trials(synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=3, speeds=[0.6, 0.9, 1.2]))


def _data_cfg(**kw):
  cfg = dict(reference="source", swap_sides_prob=0.0, num_train_pairs=0,
             pair_fractions=(1 / 3, 1 / 3, 1 / 3), near_threshold_mps=0.1,
             source_speeds=(), rate_hz=20.0)
  cfg.update(kw)
  return ml_collections.ConfigDict(cfg)


def test_pair_category():
  f = np.float32
  assert pairs.pair_category(f(0.5), f(0.5)) == "identity"
  assert pairs.pair_category(f(0.5), f(0.55)) == "near"
  assert pairs.pair_category(f(0.55), f(0.45)) == "cross"  # |dv| = 0.1
  assert pairs.pair_category(f(1.85), f(0.5)) == "cross"
  cats = pairs.pair_category(np.array([0.5, 0.5]), np.array([0.5, 1.0]))
  assert list(cats) == ["identity", "cross"]


def test_within_subject_pairs_is_exhaustive():
  ts = _grid_set(num_subjects=3, speeds=GRID).select(
      np.arange(3 * len(GRID)) % 5 != 0)  # unequal trials per subject
  p = pairs.within_subject_pairs(ts)
  counts = np.bincount(ts.subject_index)
  assert len(p) == np.sum(counts ** 2)
  assert np.all(ts.subject[p[:, 0]] == ts.subject[p[:, 1]])
  assert len({tuple(r) for r in p}) == len(p)
  assert np.sum(p[:, 0] == p[:, 1]) == len(ts)


def test_balanced_sampler_fractions_and_dv_coverage():
  ts = _grid_set()
  rng = np.random.default_rng(0)
  p = pairs.sample_training_pairs(ts, rng, 30_000)
  assert p.shape == (30_000, 2)
  assert np.all(ts.subject[p[:, 0]] == ts.subject[p[:, 1]])
  cats = pairs.pair_category(ts.speed[p[:, 0]], ts.speed[p[:, 1]])
  for c in pairs.CATEGORIES:
    assert abs(np.mean(cats == c) - 1 / 3) < 0.02, c
  assert np.all(p[cats == "identity", 0] == p[cats == "identity", 1])
  dv = pairs.speed_difference(ts.speed[p[:, 0]], ts.speed[p[:, 1]])
  cross = dv[cats == "cross"]
  # Uniform over 0.1 m/s |dv| bands: 13 bands from 0.1 to 1.35 m/s, so the
  # large changes are as common as the small ones (all pairs would put only
  # 6 % of cross pairs above 1 m/s; balanced bands put 3/13 = 23 %).
  bands = np.floor((cross - 0.1) / 0.1 + 1e-6).astype(int)
  share = np.bincount(bands) / len(cross)
  assert len(share) == 13
  assert share.min() > 0.6 / 13 and share.max() < 1.4 / 13
  assert np.mean(cross >= 1.0) > 0.18
  assert cross.max() == pytest.approx(1.35)
  # Other fractions are honoured too.
  p = pairs.sample_training_pairs(ts, rng, 20_000, fractions=(0, 0.25, 0.75))
  cats = pairs.pair_category(ts.speed[p[:, 0]], ts.speed[p[:, 1]])
  assert np.mean(cats == "identity") == 0
  assert abs(np.mean(cats == "near") - 0.25) < 0.02


def _r2(v):
  return np.round(np.asarray(v, np.float64), 2).tolist()


def test_source_speeds_restriction():
  speeds = np.array([0.5, 0.56, 0.8, 1.0, 1.3, 1.4], np.float32)
  ts = _grid_set(num_subjects=2, speeds=speeds)
  ok = pairs.allowed_sources(ts, (0.55, 0.80, 1.05, 1.30, 1.55, 1.80))
  # 0.56 is the nearest to 0.55 (within 0.026); 1.0 is 0.05 from 1.05: no.
  assert sorted(set(_r2(ts.speed[ok]))) == [0.56, 0.8, 1.3]
  p = pairs.sample_training_pairs(ts, np.random.default_rng(1), 5000,
                                  source_speeds=(0.55, 0.8, 1.05, 1.3))
  assert set(_r2(ts.speed[p[:, 0]])) == {0.56, 0.8, 1.3}
  assert len(set(_r2(ts.speed[p[:, 1]]))) == 6
  with pytest.raises(ConfigError, match="source_speeds"):
    pairs.sample_training_pairs(ts, np.random.default_rng(1), 10,
                                source_speeds=(1.7,))


def test_sampler_is_deterministic_in_seed_and_step():
  ts = _grid_set()
  stats = normalize.fit_stats(ts.x)
  cfg = _data_cfg(num_train_pairs=1000, swap_sides_prob=0.5)
  a = pipeline.PairSampler(ts, stats, None, cfg, 8, num_devices=2, seed=3)
  b5 = a.batch(5)
  assert set(b5) == {"x_src", "x_tgt", "x_ref", "v_src", "v_tgt", "subject"}
  for k in ("x_src", "x_tgt", "x_ref"):
    assert b5[k].shape == (2, 4, 600, 6) and b5[k].dtype == np.float32
  for k in ("v_src", "v_tgt"):
    assert b5[k].shape == (2, 4) and b5[k].dtype == np.float32
  assert b5["subject"].shape == (2, 4) and b5["subject"].dtype == np.int32
  a.batch(9)  # other steps in between change nothing
  _assert_equal(a.batch(5), b5)
  # A restarted run (fresh sampler, same seed) resumes exactly.
  restarted = pipeline.PairSampler(ts, stats, None, cfg, 8, 2, seed=3)
  step = restarted.restore_step(a.state_dict(5))
  _assert_equal(restarted.batch(step), b5)
  assert not np.array_equal(a.batch(6)["x_src"], b5["x_src"])
  other = pipeline.PairSampler(ts, stats, None, cfg, 8, 2, seed=4)
  assert not np.array_equal(other.batch(5)["x_src"], b5["x_src"])
  fresh = pipeline.PairSampler(ts, stats, None, _data_cfg(), 8, 2, seed=3)
  _assert_equal(fresh.batch(2), fresh.batch(2))
  assert not np.array_equal(fresh.batch(2)["x_src"], fresh.batch(3)["x_src"])


def _assert_equal(a, b):
  assert set(a) == set(b)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


def test_batches_are_normalised_pairs_of_one_subject():
  ts = _grid_set()
  stats = normalize.fit_stats(ts.x)
  sampler = pipeline.PairSampler(ts, stats, None, _data_cfg(), 6, 2, seed=0)
  p = sampler.pairs(4)
  b = sampler.batch(4)
  flat = {k: v.reshape((6,) + v.shape[2:]) for k, v in b.items()}
  np.testing.assert_allclose(flat["x_src"], stats.normalize(ts.x[p[:, 0]]),
                             rtol=1e-6)
  np.testing.assert_allclose(flat["x_tgt"], stats.normalize(ts.x[p[:, 1]]),
                             rtol=1e-6)
  np.testing.assert_array_equal(flat["x_ref"], flat["x_src"])  # 'source'
  np.testing.assert_array_equal(flat["v_src"], ts.speed[p[:, 0]])
  np.testing.assert_array_equal(flat["subject"], ts.subject_index[p[:, 0]])
  assert np.all(ts.subject_index[p[:, 1]] == flat["subject"])
  assert abs(float(np.mean(flat["x_src"]))) < 0.5


def test_swap_sides_swaps_all_three_before_normalising():
  ts = _grid_set()
  stats = normalize.NormStats(mean=np.arange(6.0), std=np.arange(1.0, 7.0))
  sampler = pipeline.PairSampler(ts, stats, None,
                                 _data_cfg(swap_sides_prob=1.0), 4, 1, seed=0)
  p = sampler.pairs(0)
  b = sampler.batch(0)
  perm = list(constants.SWAP_SIDES)
  np.testing.assert_allclose(b["x_src"][0],
                             stats.normalize(ts.x[p[:, 0]][..., perm]),
                             rtol=1e-5)
  np.testing.assert_allclose(b["x_tgt"][0],
                             stats.normalize(ts.x[p[:, 1]][..., perm]),
                             rtol=1e-5)
  np.testing.assert_array_equal(b["x_ref"], b["x_src"])


def test_pair_budget_is_visited_epoch_by_epoch():
  ts = _grid_set()
  stats = normalize.fit_stats(ts.x)
  sampler = pipeline.PairSampler(ts, stats, None,
                                 _data_cfg(num_train_pairs=20), 8, 1, seed=0)
  seen = np.concatenate([sampler.pairs(s) for s in range(5)])  # 40 pairs
  pool = sampler._pool  # pylint: disable=protected-access
  key = lambda a: sorted(map(tuple, a))  # noqa: E731
  assert key(seen[:20]) == key(pool) == key(seen[20:])
  assert not np.array_equal(seen[:20], seen[20:])  # a new order per epoch
  assert sampler.steps_per_epoch == 2.5


def test_fixed_pairs_batches_cover_every_pair_once():
  ts = _grid_set(num_subjects=2, speeds=(0.5, 0.8, 1.1))
  stats = normalize.fit_stats(ts.x)
  p = pairs.within_subject_pairs(ts)  # 18 pairs
  batches = list(pipeline.fixed_pairs_batches(ts, p, stats, None,
                                              _data_cfg(), 8, 2))
  assert len(batches) == pipeline.num_fixed_batches(len(p), 8) == 3
  idx = np.concatenate([b["pair_index"].ravel() for b in batches])
  mask = np.concatenate([b["mask"].ravel() for b in batches])
  assert mask.sum() == 18 and np.all((idx >= 0) == mask)
  np.testing.assert_array_equal(np.sort(idx[mask]), np.arange(18))
  last = batches[-1]
  assert last["x_src"].shape == (2, 4, 600, 6)
  row = int(last["pair_index"][0, 0])
  np.testing.assert_allclose(last["x_tgt"][0, 0],
                             stats.normalize(ts.x[p[row, 1]]), rtol=1e-6)


def test_cycle_references(gait):
  stats = normalize.fit_stats(gait.x)
  template = pipeline.fit_template(gait)
  for kind in ("template", "warped"):
    sampler = pipeline.PairSampler(gait, stats, template,
                                   _data_cfg(reference=kind), 4, 1, seed=0)
    b = sampler.batch(1)
    assert b["x_ref"].shape == (1, 4, 600, 6)
    assert np.all(np.isfinite(b["x_ref"]))
    assert not np.allclose(b["x_ref"], b["x_src"])
    _assert_equal(b, sampler.batch(1))
    # Training references follow the target's cycles: closer to x_tgt than
    # the raw source is.
    err_ref = np.abs(b["x_ref"] - b["x_tgt"]).mean()
    err_src = np.abs(b["x_src"] - b["x_tgt"]).mean()
    assert err_ref < err_src, kind
  with pytest.raises(ConfigError, match="TemplateModel"):
    pipeline.PairSampler(gait, stats, None, _data_cfg(reference="template"),
                         4, 1, seed=0)
  with pytest.raises(ConfigError, match="data.reference"):
    pipeline.PairSampler(gait, stats, None, _data_cfg(reference="nope"),
                         4, 1, seed=0)


def test_bad_batch_and_fraction_configs():
  ts = _grid_set()
  stats = normalize.fit_stats(ts.x)
  with pytest.raises(ConfigError, match="multiple"):
    pipeline.PairSampler(ts, stats, None, _data_cfg(), 5, 2, seed=0)
  with pytest.raises(ConfigError, match="pair_fractions"):
    pipeline.PairSampler(ts, stats, None,
                         _data_cfg(pair_fractions=(1.0, 0.0)), 4, 1, seed=0)


def test_prefetch_matches_direct_and_propagates_errors():
  calls = []

  def make(step):
    calls.append(step)
    if step == 7:
      raise RuntimeError("boom at 7")
    return {"x": np.full((2,), step)}

  with pipeline.prefetch(make, start_step=3, num_steps=3) as it:
    got = [(s, int(b["x"][0])) for s, b in it]
  assert got == [(3, 3), (4, 4), (5, 5)]
  it = pipeline.prefetch(make, start_step=5)
  assert next(it)[0] == 5 and next(it)[0] == 6
  with pytest.raises(RuntimeError, match="boom at 7"):
    next(it)
  it = pipeline.prefetch(make, start_step=100, buffer_size=1)
  next(it)
  it.close()
  n = len(calls)
  assert not it._thread.is_alive()  # pylint: disable=protected-access
  assert len(calls) == n


def test_benchmark_pipeline_reports_rates(gait):
  lines = []
  out = bench_pipeline.benchmark_pipeline(gait, batch_size=4, num_batches=2,
                                          references=("source", "template"),
                                          print_fn=lines.append)
  assert set(out) == {"source", "template"} and min(out.values()) > 0
  assert any("pairs/s" in line for line in lines)
