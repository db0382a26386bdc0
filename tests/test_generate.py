"""Generator API and the batch sampling job (launch/sample.py)."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from gaitjax.data import trial_files
from gaitjax.data import dataset as dataset_lib
from gaitjax.errors import CheckpointError, DataError
from gaitjax.generate import Generator
from gaitjax import sample_job

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def generator(tiny_checkpoint):
  return Generator(str(tiny_checkpoint), num_steps=3, eta=0.0)


@pytest.fixture(scope="module")
def test_set(tiny_data_dir):
  return dataset_lib.load_split(tiny_data_dir, "synthetic_able_bodied", "test")


def test_sweep_shapes_mean_and_sd(generator, test_set):
  x = test_set.x[:2]
  out = generator.generate(x, test_set.speed[:2], [0.7, 0.9, 1.1],
                           num_samples=3, seed=0)
  assert out.samples.shape == (2, 3, 3, 600, 6)
  assert out.mean.shape == out.std.shape == (2, 3, 600, 6)
  np.testing.assert_allclose(out.mean, out.samples.mean(axis=2), atol=1e-5)
  assert np.all(np.isfinite(out.samples))
  # Independent noise per sample: they differ.
  assert float(out.std.max()) > 1e-3


def test_shared_noise_with_eta0_gives_zero_sd(generator, test_set):
  out = generator.generate(test_set.x[:1], test_set.speed[:1], [0.9],
                           num_samples=3, seed=1, shared_noise=True)
  assert float(out.std.max()) < 1e-4


def test_temperature_scales_the_spread(tiny_checkpoint, generator,
                                       test_set):
  """sampling.temperature: 0 gives one deterministic point estimate (every
  sample and seed equal); 0.5 a smaller spread than 1."""
  x, v = test_set.x[:1], test_set.speed[:1]
  point = Generator(str(tiny_checkpoint), num_steps=3, eta=0.0,
                    temperature=0.0)
  out = point.generate(x, v, [0.9], num_samples=3, seed=1)
  assert float(out.std.max()) < 1e-4
  other = point.generate(x, v, [0.9], num_samples=1, seed=7)
  np.testing.assert_allclose(other.mean, out.mean, atol=1e-4)
  half = Generator(str(tiny_checkpoint), num_steps=3, eta=0.0,
                   temperature=0.5).generate(x, v, [0.9], num_samples=4,
                                             seed=1)
  full = generator.generate(x, v, [0.9], num_samples=4, seed=1)
  assert 0 < float(half.std.mean()) < float(full.std.mean())
  with pytest.raises(Exception, match="temperature"):
    Generator(str(tiny_checkpoint), temperature=-1.0)


def test_same_seed_same_samples_independent_of_batching(generator, test_set):
  a = generator.generate(test_set.x[:2], test_set.speed[:2], [0.8, 1.0],
                         num_samples=2, seed=5)
  b = generator.generate(test_set.x[:2], test_set.speed[:2], [0.8, 1.0],
                         num_samples=2, seed=5)
  np.testing.assert_array_equal(a.samples, b.samples)
  c = generator.generate(test_set.x[:2], test_set.speed[:2], [0.8, 1.0],
                         num_samples=2, seed=6)
  assert not np.allclose(a.samples, c.samples)


def test_request_path_equals_the_row_path(tiny_checkpoint, test_set):
  """Sources encoded once per device slice (Task.predict_request_fn) give
  the samples of every row carrying its own source copy: a batch of 5 rows
  splits 3 sources x 2 speeds x 2 samples across slices and pads them."""
  gen = Generator(str(tiny_checkpoint), num_steps=3, eta=0.0, batch_size=5)
  assert gen._predict_request is not None
  args = (test_set.x[:3], test_set.speed[:3], [0.8, 1.0])
  fast = gen.generate(*args, num_samples=2, seed=3)
  gen._predict_request = None                       # the row path
  rows = gen.generate(*args, num_samples=2, seed=3)
  np.testing.assert_allclose(fast.samples, rows.samples, atol=1e-3)
  assert float(fast.std.max()) > 1e-3               # samples still differ


def test_extrapolated_speed_refused_unless_allowed(generator, test_set,
                                                   tiny_checkpoint):
  with pytest.raises(DataError, match="outside the training range"):
    generator.generate(test_set.x[:1], test_set.speed[:1], [1.9])
  loose = Generator(str(tiny_checkpoint), num_steps=2,
                    allow_extrapolation=True)
  out = loose.generate(test_set.x[:1], test_set.speed[:1], [1.9])
  assert out.extrapolated.tolist() == [[True]]


@pytest.mark.parametrize("x, v_src, v_tgt, match", [
    (np.zeros((300, 6)), 1.0, 1.0, "600 samples"),
    (np.zeros((600, 5)), 1.0, 1.0, r"\[T, 6\]"),
    (np.full((600, 6), np.nan), 1.0, 1.0, "non-finite|NaN"),
    (None, -1.0, 1.0, "positive"),
    (None, 1.0, 0.0, "positive"),
    (None, "fast", 1.0, "m/s"),
])
def test_bad_inputs_are_one_line_errors(generator, test_set, x, v_src, v_tgt,
                                        match):
  x = test_set.x[0] if x is None else x
  with pytest.raises(DataError, match=match) as e:
    generator.generate(x, v_src, v_tgt)
  assert "\n" not in str(e.value)


def test_missing_checkpoint(tmp_path):
  with pytest.raises(CheckpointError):
    Generator(str(tmp_path / "nothing"))


def test_job_writes_readable_files_and_resumes(generator, test_set, tmp_path):
  reqs = sample_job.requests_from_trialset(test_set.select(
      test_set.subject == test_set.subject[0]), target_speeds=(0.8, 1.1))[:3]
  out = str(tmp_path / "out")
  s1 = sample_job.run_job(generator, reqs, out, seed=0)
  assert s1 == {"written": 3, "skipped": 0, "out_dir": out}
  meta = json.load(open(os.path.join(out, "meta.json")))
  assert meta["sampler"]["num_steps"] == 3
  assert meta["checkpoint"]["step"] == generator.step
  stem = os.path.join(out, reqs[0].subject, reqs[0].stem)
  mot = trial_files.read_mot(stem + ".mot")
  time_npz = np.load(stem + ".npz", allow_pickle=False)
  angles = mot.data[:, 1:]
  np.testing.assert_allclose(angles, time_npz["angles"], atol=1e-5)
  t_csv, a_csv = trial_files.read_trial_file(stem + ".csv")
  np.testing.assert_allclose(a_csv, time_npz["angles"], atol=1e-5)
  assert mot.columns[1:] == list(("hip_flexion_r", "knee_angle_r",
                                  "ankle_angle_r", "hip_flexion_l",
                                  "knee_angle_l", "ankle_angle_l"))
  # A finished request is skipped; a deleted output is regenerated.
  os.remove(stem + ".mot")
  s2 = sample_job.run_job(generator, reqs, out, seed=0)
  assert s2["written"] == 1 and s2["skipped"] == 2
  np.testing.assert_allclose(trial_files.read_mot(stem + ".mot").data[:, 1:], angles,
                             atol=1e-5)
  leftovers = [f for _, _, fs in os.walk(out) for f in fs if ".tmp" in f]
  assert not leftovers


def test_sample_cli_one_line_errors(tiny_checkpoint, tmp_path):
  trial = tmp_path / "p01.csv"
  t = np.arange(300) / 100.0  # 3 s: 2 whole cycles, fewer than 5
  trial_files.write_trial_csv(str(trial), t, 20.0 * np.sin(2 * np.pi * t)[:, None]
                      + np.zeros((300, 6)))
  base = [sys.executable, os.path.join(REPO, "launch", "sample.py"),
          f"--checkpoint={tiny_checkpoint}", f"--output_dir={tmp_path}/o"]
  cases = [
      (["--trial=" + str(trial), "--source_speed=1.0",
        "--target_speeds=0.9"], "2 complete gait cycles found"),
      (["--trial=" + str(tmp_path / "missing.csv"), "--source_speed=1.0",
        "--target_speeds=0.9"], "no such file"),
      (["--dataset=synthetic_able_bodied", "--target_speeds=abc"],
       "target_speeds"),
  ]
  for extra, match in cases:
    proc = subprocess.run(base + extra, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ,
                                                JAX_PLATFORMS="cpu"))
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert re.search(match, last), last


def _npz_arrays(out):
  """{relative .npz path: {name: array}} of a job's output folder."""
  found = {}
  for root, _, files in os.walk(out):
    for f in files:
      if f.endswith(".npz"):
        path = os.path.join(root, f)
        with np.load(path, allow_pickle=False) as npz:
          found[os.path.relpath(path, out)] = {k: npz[k] for k in npz.files}
  return found


def test_sharded_job_union_equals_unsharded(generator, test_set, tmp_path):
  reqs = sample_job.requests_from_trialset(test_set.select(
      test_set.subject == test_set.subject[0]), target_speeds=(0.8, 1.1))[:5]
  whole = str(tmp_path / "whole")
  sample_job.run_job(generator, reqs, whole, seed=3, chunk_size=2)
  shards = str(tmp_path / "shards")
  summaries = [sample_job.run_job(generator, reqs, shards, seed=3,
                                  chunk_size=2, num_shards=2, shard_index=i)
               for i in (1, 0)]
  # Chunks 0, 2 (rows 0-1, 4) -> shard 0; chunk 1 (rows 2-3) -> shard 1.
  assert [s["written"] for s in summaries] == [2, 3]
  assert summaries[0]["shard"] == "1/2"
  a, b = _npz_arrays(whole), _npz_arrays(shards)
  assert sorted(a) == sorted(b) and len(a) == 5
  for name in a:
    for key in a[name]:
      np.testing.assert_array_equal(a[name][key], b[name][key])
      assert a[name][key].tobytes() == b[name][key].tobytes()
  # meta.json: written once (by the first shard), not per shard.
  meta_path = os.path.join(shards, "meta.json")
  meta = open(meta_path).read()
  assert json.loads(meta)["num_requests"] == 5
  assert [f for f in os.listdir(shards) if f.endswith(".tmp")] == []
  # A rerun of a shard skips what it finished and keeps meta.json.
  again = sample_job.run_job(generator, reqs, shards, seed=3, chunk_size=2,
                             num_shards=2, shard_index=1)
  assert again["written"] == 0 and again["skipped"] == 2
  assert open(meta_path).read() == meta
  # Another job (another seed) in the same folder is refused.
  with pytest.raises(DataError, match="another job"):
    sample_job.run_job(generator, reqs, shards, seed=4, chunk_size=2,
                       num_shards=2, shard_index=0)


def test_shard_flags_are_checked():
  assert sample_job.shard_chunks(10, 3, 2, 1) == [3, 9]
  assert sample_job.shard_chunks(10, 3) == [0, 3, 6, 9]
  from gaitjax.errors import ConfigError
  with pytest.raises(ConfigError, match="shard_index=2"):
    sample_job.shard_chunks(10, 3, 2, 2)
  with pytest.raises(ConfigError, match="num_shards=0"):
    sample_job.shard_chunks(10, 3, 0, 0)

  class Flags:
    num_shards, shard_index = 2, None
  with pytest.raises(ConfigError, match="both"):
    sample_job.shard_from_flags(Flags)
  Flags.num_shards = None
  assert sample_job.shard_from_flags(Flags) == (1, 0)
