"""The TFDS pair view (gaitjax_pairs): splits, exhaustive eval pairs, balance,
the stored training draw read back by the PairSampler, provenance, errors."""
import json
import pathlib
import shutil
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import REPO_ROOT, subprocess_env
from gaitjax.data import dataset, normalize, pair_dataset, pairs, pipeline
from gaitjax.data import tfds_builders
from gaitjax.errors import ConfigError, DataError

AB = "synthetic_able_bodied"
# 0.6/0.65 gives near pairs; 6 subjects split 3/1/2.
TRIALS = dict(num_subjects=6, speeds=(0.6, 0.65, 0.8, 1.0, 1.2),
              num_train_subjects=3, num_val_subjects=1, num_test_subjects=2)
NUM_TRAIN = 3000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp("pairs")
  tfds_builders.build(AB, root, **TRIALS)
  pair_dataset.build_pairs(AB, root, num_train_pairs=NUM_TRAIN)
  return root


def _data_cfg(data_dir, **kw):
  cfg = dict(reference="source", swap_sides_prob=0.0,
             num_train_pairs=NUM_TRAIN, pair_fractions=(1 / 3,) * 3,
             near_threshold_mps=0.1, source_speeds=(), rate_hz=20.0,
             pairs="sample", data_dir=str(data_dir), dataset=AB)
  cfg.update(kw)
  return ml_collections.ConfigDict(cfg)


@pytest.mark.parametrize("split", ["validation", "test"])
def test_eval_splits_are_within_subject_pairs_of_the_trial_split(
    data_dir, split):
  ts, source_index = dataset.load_split_indexed(data_dir, AB, split)
  expected = dataset.within_subject_pairs(ts)
  got = pair_dataset.load_pair_split(data_dir, AB, split)
  assert len(got["x_src"]) == len(expected) == \
      ts.num_subjects * 5 ** 2
  src, tgt = expected[:, 0], expected[:, 1]
  np.testing.assert_array_equal(got["x_src"], ts.x[src])
  np.testing.assert_array_equal(got["x_tgt"], ts.x[tgt])
  np.testing.assert_array_equal(got["v_src"], ts.speed[src])
  np.testing.assert_array_equal(got["v_tgt"], ts.speed[tgt])
  assert list(got["subject"]) == list(ts.subject[src])
  assert list(got["pair_category"]) == list(
      pairs.pair_category(ts.speed[src], ts.speed[tgt]))
  keys = pair_dataset.trial_keys(ts)
  assert list(got["src_key"]) == list(keys[src])
  assert list(got["tgt_key"]) == list(keys[tgt])
  assert set(got["count"].tolist()) == {1}
  assert set(got["cohort"]) == {"able_bodied"}
  # src_index/tgt_index address the trial dataset's own data source.
  trials = tfds.data_source(f"gaitjax_gait/{AB}", data_dir=str(data_dir),
                            split=split)
  np.testing.assert_array_equal(source_index[src], got["src_index"])
  for k in (0, 7, len(src) - 1):
    np.testing.assert_array_equal(trials[int(got["src_index"][k])]["angles"],
                                  got["x_src"][k])
    np.testing.assert_array_equal(trials[int(got["tgt_index"][k])]["angles"],
                                  got["x_tgt"][k])


def test_splits_are_the_trial_datasets_subject_splits(data_dir):
  info = dataset.read_build_info(data_dir, AB)
  for split in ("train", "validation", "test"):
    got = pair_dataset.load_pair_split(data_dir, AB, split, arrays=False)
    assert sorted(set(got["subject"])) == info["splits"][split]


def test_train_split_is_the_balanced_draw(data_dir):
  ts = dataset.load_split(data_dir, AB, "train")
  got = pair_dataset.load_pair_split(data_dir, AB, "train")
  count = got["count"]
  assert count.sum() == NUM_TRAIN and count.min() >= 1
  # Stored once per distinct pair, with full arrays.
  assert len({(a, b) for a, b in zip(got["src_key"], got["tgt_key"])}) == \
      len(count) <= len(dataset.within_subject_pairs(ts))
  assert got["x_src"].shape == (len(count), 600, 6)
  assert all(s == t.split("|")[0] for s, t in zip(got["subject"],
                                                  got["tgt_key"]))
  # Count-weighted category fractions = the configured balance (1/3 each).
  frac = {c: count[got["pair_category"] == c].sum() / count.sum()
          for c in pairs.CATEGORIES}
  for c in pairs.CATEGORIES:
    assert abs(frac[c] - 1 / 3) < 0.03, frac
  record = pair_dataset.read_record(data_dir, AB)
  for c in pairs.CATEGORIES:
    assert record["category_fractions"]["train"][c] == pytest.approx(frac[c])


def test_tfds_pairs_equal_the_samplers_own_draw(data_dir):
  """data.pairs='tfds' trains on exactly what data.pairs='sample' draws."""
  ts = dataset.load_split(data_dir, AB, "train")
  stats = normalize.fit_stats(ts.x)
  sample = pipeline.PairSampler(ts, stats, None, _data_cfg(data_dir), 8)
  stored = pipeline.PairSampler(ts, stats, None,
                                _data_cfg(data_dir, pairs="tfds"), 8)
  assert stored.pool.shape == (NUM_TRAIN, 2)
  np.testing.assert_array_equal(stored.pool, sample.pool)
  for step in (0, 5, NUM_TRAIN // 8 + 1):
    a, b = sample.batch(step), stored.batch(step)
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])
  # Another seed: tfds keeps the stored pairs (statistics of one draw),
  # sampling draws new ones from the same distribution.
  other = pipeline.PairSampler(ts, stats, None,
                               _data_cfg(data_dir, pairs="tfds"), 8, seed=3)
  np.testing.assert_array_equal(other.pool, sample.pool)

  def fractions(pool):
    cats = pairs.pair_category(ts.speed[pool[:, 0]], ts.speed[pool[:, 1]])
    return np.asarray([np.mean(cats == c) for c in pairs.CATEGORIES])
  resampled = pipeline.PairSampler(ts, stats, None, _data_cfg(data_dir), 8,
                                   seed=3)
  np.testing.assert_allclose(fractions(other.pool),
                             fractions(resampled.pool), atol=0.04)
  with pytest.raises(ConfigError, match="data.pairs"):
    pipeline.PairSampler(ts, stats, None, _data_cfg(data_dir, pairs="disk"),
                         8)


def test_train_pool_refuses_other_trials(data_dir):
  val = dataset.load_split(data_dir, AB, "validation")
  with pytest.raises(DataError, match="other training trials"):
    pair_dataset.train_pool(data_dir, AB, val)


def test_build_record_names_the_trial_build(data_dir):
  record = pair_dataset.read_record(data_dir, AB)
  trial_info = dataset.read_build_info(data_dir, AB)
  assert record["trial_dataset"] == f"gaitjax_gait/{AB}"
  assert record["trial_build"] == trial_info["build"]
  assert record["pairing"]["num_train_pairs"] == NUM_TRAIN
  assert record["pairing"]["seed"] == 0
  assert record["rules"]["paper"] and record["rules"]["ours"]
  assert record["num_train_draws"] == NUM_TRAIN
  ts = dataset.load_split(data_dir, AB, "test")
  assert record["trial_fingerprint"]["test"] == pair_dataset.fingerprint(ts)


def test_reuse_and_mismatch(data_dir):
  path = pair_dataset.pairs_path(data_dir, AB)
  stamp = (path / pair_dataset.BUILD_FILE).stat().st_mtime_ns
  assert pair_dataset.build_pairs(AB + "_pairs", data_dir,
                                  num_train_pairs=NUM_TRAIN) == path
  assert (path / pair_dataset.BUILD_FILE).stat().st_mtime_ns == stamp
  with pytest.raises(DataError, match="pairing.*--overwrite"):
    pair_dataset.build_pairs(AB, data_dir, num_train_pairs=10)
  with pytest.raises(ConfigError, match="unknown pair parameter"):
    pair_dataset.build_pairs(AB, data_dir, bogus=1)


def test_reuse_refuses_a_build_drawn_by_other_pairing_rules(data_dir,
                                                            monkeypatch):
  real = pair_dataset.draw_train_pairs
  monkeypatch.setattr(pair_dataset, "draw_train_pairs",
                      lambda ts, cfg: real(ts, cfg)[::-1])
  with pytest.raises(DataError, match="pairing rules changed"):
    pair_dataset.build_pairs(AB, data_dir, num_train_pairs=NUM_TRAIN)


def test_errors_name_the_fix(tmp_path, data_dir):
  with pytest.raises(DataError, match="build_data.py --dataset=synthetic_st"):
    pair_dataset.build_pairs("synthetic_stroke", tmp_path)
  with pytest.raises(DataError, match="--dataset=synthetic_stroke_pairs"):
    pair_dataset.train_pool(tmp_path, "synthetic_stroke", None)
  # Distinct training pairs over the size limit: refused with the numbers.
  copy = tmp_path / "copy"
  shutil.copytree(tfds_builders.dataset_path(data_dir, AB),
                  tfds_builders.dataset_path(copy, AB))
  with pytest.raises(DataError, match=r"distinct pairs, 0\.\d\d GB"):
    pair_dataset.build_pairs(AB, copy, max_train_bytes=1000)
  assert not pair_dataset.is_built(copy, AB)


def test_cli_builds_stroke_pairs_and_readme_example_runs(tmp_path):
  data = tmp_path / "data"
  subprocess.run([sys.executable, str(REPO_ROOT / "launch/build_data.py"),
                  "--dataset=synthetic_stroke_pairs", f"--data_dir={data}",
                  "--synthetic_subjects=2"],
                 check=True, env=subprocess_env(), capture_output=True)
  assert pair_dataset.is_built(data, "synthetic_stroke")
  ts = dataset.load_split(data, "synthetic_stroke", "test")
  # The README example (copy-source MAE of the test pairs), verbatim but
  # for the names.
  from gaitjax.gait import cycles
  test = tfds.data_source("gaitjax_pairs/synthetic_stroke",
                          data_dir=str(data), split="test")
  mae = [cycles.cycle_mae(p["x_tgt"], p["x_src"], 20.0).mae for p in test]
  assert len(mae) == len(dataset.within_subject_pairs(ts))
  assert 0 < np.nanmean(mae) < 20
  record = json.loads((pair_dataset.pairs_path(data, "synthetic_stroke") /
                       pair_dataset.BUILD_FILE).read_text())
  assert list(record["num_examples"]) == ["test"]


def test_training_loop_reads_its_pairs_from_tfds(data_dir):
  from conftest import tiny_config
  from gaitjax.train import loop
  config = tiny_config(data_dir)
  config.data.dataset = AB
  config.data.pairs = "tfds"
  data = loop.load_train_data(config, num_devices=1)
  train = dataset.load_split(data_dir, AB, "train")
  np.testing.assert_array_equal(
      data.sampler.pool, pair_dataset.train_pool(data_dir, AB, train))
  assert data.sampler.num_train_pairs == NUM_TRAIN
