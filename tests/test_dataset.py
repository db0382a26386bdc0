"""TFDS build -> load_split round trip, splits, statistics, failure modes."""
import json
import pathlib
import shutil

import numpy as np
import pytest

from gaitjax.data import trial_files
from gaitjax.data import dataset, normalize, synthetic, tfds_builders
from gaitjax.errors import ConfigError, DataError

SPEEDS = (0.5, 0.55, 0.6, 1.0)
AB = dict(num_subjects=6, speeds=SPEEDS, num_train_subjects=3,
          num_val_subjects=1, num_test_subjects=2)
NUM_STROKE = 13


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp("tfds")
  tfds_builders.build("synthetic_able_bodied", root, **AB)
  tfds_builders.build("synthetic_stroke", root, num_subjects=NUM_STROKE)
  return root


def test_round_trip_matches_preprocessed_trials(data_dir):
  splits = {s: dataset.load_split(data_dir, "synthetic_able_bodied", s)
            for s in ("train", "validation", "test")}
  assert {s: ts.num_subjects for s, ts in splits.items()} == {
      "train": 3, "validation": 1, "test": 2}
  names = [set(ts.subjects) for ts in splits.values()]
  assert not (names[0] & names[1] or names[0] & names[2] or
              names[1] & names[2])
  assert set.union(*names) == {f"AB{i:02d}" for i in range(1, 7)}
  # The stored arrays are exactly what preprocessing the same cohort gives.
  expected = dataset.TrialSet.from_trials(synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=6, speeds=list(SPEEDS)))
  for ts in splits.values():
    assert ts.x.shape == (4 * ts.num_subjects, 600, 6)
    assert ts.x.dtype == np.float32 and ts.speed.dtype == np.float32
    assert ts.subject_index.dtype == np.int32
    np.testing.assert_array_equal(
        np.asarray(ts.subjects)[ts.subject_index], ts.subject)
    assert set(ts.cohort) == {"able_bodied"} and set(ts.paretic_side) == {""}
    for i in range(len(ts)):
      j = np.flatnonzero((expected.subject == ts.subject[i]) &
                         (expected.speed == ts.speed[i]))
      assert j.size == 1
      np.testing.assert_array_equal(ts.x[i], expected.x[j[0]])
    # Sorted by subject, then speed.
    keys = list(zip(ts.subject, ts.speed))
    assert keys == sorted(keys)


def test_stats_are_fit_on_train_only(data_dir):
  stats = dataset.load_stats(data_dir, "synthetic_able_bodied")
  train = dataset.load_split(data_dir, "synthetic_able_bodied", "train")
  test = dataset.load_split(data_dir, "synthetic_able_bodied", "test")
  ref = normalize.fit_stats(train.x)
  np.testing.assert_allclose(stats.mean, ref.mean, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(stats.std, ref.std, rtol=1e-5)
  both = normalize.fit_stats(np.concatenate([train.x, test.x]))
  assert not np.allclose(stats.mean, both.mean, atol=1e-4)
  info = dataset.read_build_info(data_dir, "synthetic_able_bodied")
  assert info["fit_on"] == "train"
  assert info["stats_subjects"] == list(train.subjects)


def test_stroke_is_all_test_with_stats_from_12_subjects(data_dir):
  ts = dataset.load_split(data_dir, "synthetic_stroke", "test")
  assert ts.num_subjects == NUM_STROKE
  assert set(ts.cohort) == {"stroke"}
  assert set(ts.paretic_side) <= {"left", "right"}
  info = dataset.read_build_info(data_dir, "synthetic_stroke")
  chosen = info["stats_subjects"]
  assert len(chosen) == 12
  assert chosen == normalize.choose_stats_subjects(ts.subjects, 12, seed=0)
  ref = normalize.fit_stats(ts.x[np.isin(ts.subject, chosen)])
  stats = dataset.load_stats(data_dir, "synthetic_stroke")
  np.testing.assert_allclose(stats.mean, ref.mean, rtol=1e-5, atol=1e-5)
  all_subjects = normalize.fit_stats(ts.x)
  assert not np.allclose(stats.mean, all_subjects.mean, atol=1e-4)
  with pytest.raises(DataError, match="no examples in split 'train'"):
    dataset.load_split(data_dir, "synthetic_stroke", "train")


def test_not_built_is_a_one_line_error_naming_the_command(tmp_path):
  with pytest.raises(DataError) as e:
    dataset.load_split(tmp_path, "synthetic_able_bodied", "train")
  assert "launch/build_data.py --dataset=synthetic_able_bodied" in str(e.value)
  assert "\n" not in str(e.value)
  with pytest.raises(DataError, match="--manual_dir"):
    dataset.load_stats(tmp_path, "camargo")


def test_reuse_mismatch_and_overwrite(tmp_path):
  small = dict(num_subjects=3, speeds=(0.5, 1.0))
  (path,) = tfds_builders.build("synthetic_able_bodied", tmp_path, **small)
  record = next(path.glob("*train.array_record*"))
  stamp = record.stat().st_mtime_ns
  assert tfds_builders.build("synthetic_able_bodied", tmp_path, **small) == [
      path]
  assert record.stat().st_mtime_ns == stamp  # reused, not rebuilt
  with pytest.raises(DataError, match="different parameters.*num_subjects"):
    tfds_builders.build("synthetic_able_bodied", tmp_path, num_subjects=4,
                        speeds=(0.5, 1.0))
  tfds_builders.build("synthetic_able_bodied", tmp_path, num_subjects=4,
                      speeds=(0.5, 1.0), overwrite=True)
  loaded = [dataset.load_split(tmp_path, "synthetic_able_bodied", s)
            for s in ("train", "validation", "test")]
  assert sum(ts.num_subjects for ts in loaded) == 4


def test_interrupted_build_never_loads(tmp_path, monkeypatch):
  from gaitjax.data import preprocess
  real = preprocess.to_model_input
  calls = []

  def flaky(trial, **kw):
    calls.append(1)
    if len(calls) > 3:
      raise KeyboardInterrupt  # like Ctrl-C in the middle of a build
    return real(trial, **kw)

  monkeypatch.setattr(preprocess, "to_model_input", flaky)
  with pytest.raises(KeyboardInterrupt):
    tfds_builders.build("synthetic_able_bodied", tmp_path, num_subjects=3,
                        speeds=(0.5, 1.0))
  assert not tfds_builders.is_built(tmp_path, "synthetic_able_bodied")
  assert not tfds_builders.dataset_path(tmp_path,
                                        "synthetic_able_bodied").exists()
  with pytest.raises(DataError, match="not built"):
    dataset.load_split(tmp_path, "synthetic_able_bodied", "train")
  monkeypatch.setattr(preprocess, "to_model_input", real)
  # A killed process leaves TFDS's incomplete.* folder: not loadable, and
  # the next build removes it.
  (path,) = tfds_builders.build("synthetic_able_bodied", tmp_path,
                                num_subjects=3, speeds=(0.5, 1.0))
  stale = path.parent / f"incomplete.ABC123_{path.name}"
  shutil.copytree(path, stale)
  shutil.rmtree(path)
  with pytest.raises(DataError, match="not built"):
    dataset.load_split(tmp_path, "synthetic_able_bodied", "train")
  tfds_builders.build("synthetic_able_bodied", tmp_path, num_subjects=3,
                      speeds=(0.5, 1.0))
  assert not stale.exists()
  assert len(dataset.load_split(tmp_path, "synthetic_able_bodied", "test"))


def _cfg(**kw):
  return tfds_builders.GaitConfig(name="t", **kw)


def test_assign_splits_rules():
  ab = {f"S{i:02d}": "able_bodied" for i in range(22)}
  splits = tfds_builders.assign_splits(ab, _cfg())
  assert [len(splits[s]) for s in tfds_builders.SPLITS] == [13, 4, 5]
  assert sorted(sum(splits.values(), [])) == sorted(ab)
  assert splits == tfds_builders.assign_splits(ab, _cfg())
  assert splits != tfds_builders.assign_splits(ab, _cfg(split_seed=1))
  five = {k: ab[k] for k in list(ab)[:5]}
  assert [len(v) for v in tfds_builders.assign_splits(
      five, _cfg()).values()] == [3, 1, 1]
  two = {k: ab[k] for k in list(ab)[:2]}
  assert tfds_builders.assign_splits(two, _cfg())["test"] == sorted(two)
  stroke = {f"ST{i}": "stroke" for i in range(19)}
  out = tfds_builders.assign_splits(stroke, _cfg())
  assert out["train"] == out["validation"] == [] and len(out["test"]) == 19
  # Mixed (issue 11): able-bodied split as usual, every stroke subject tested.
  mixed = tfds_builders.assign_splits({**five, "ST1": "stroke"}, _cfg())
  alone = tfds_builders.assign_splits(five, _cfg())
  assert mixed == {**alone, "test": sorted(alone["test"] + ["ST1"])}


def test_split_stroke_splits_each_cohort_on_its_own():
  """A training population (split_stroke): stroke subjects are trained on,
  split by the same counts as the able-bodied ones, whose split is the one
  they get without stroke subjects; a test count of 0 stays 0."""
  ab = {f"SP{i:03d}": "able_bodied" for i in range(30)}
  stroke = {f"SPS{i:02d}": "stroke" for i in range(10)}
  cfg = _cfg(num_train_subjects=29, num_val_subjects=1, num_test_subjects=0,
             split_stroke=True)
  out = tfds_builders.assign_splits({**ab, **stroke}, cfg)
  assert out["test"] == []
  assert {k: [s for s in v if s in ab] for k, v in out.items()} == \
      tfds_builders.assign_splits(ab, cfg)
  in_stroke = {k: [s for s in v if s in stroke] for k, v in out.items()}
  assert [len(in_stroke[s]) for s in tfds_builders.SPLITS] == [9, 1, 0]
  # Without the flag every stroke subject is tested (paper II.E).
  paper = tfds_builders.assign_splits(
      {**ab, **stroke}, _cfg(num_train_subjects=29, num_val_subjects=1,
                             num_test_subjects=0))
  assert set(stroke) <= set(paper["test"])


def test_mixed_population_build_trains_on_both_cohorts(tmp_path):
  tfds_builders.build("synthetic_population_mixed", tmp_path, num_subjects=4,
                      speeds=(0.6, 1.0), num_stroke_subjects=3,
                      num_train_subjects=3, num_val_subjects=1)
  train = dataset.load_split(tmp_path, "synthetic_population_mixed", "train")
  assert set(train.cohort.tolist()) == {"able_bodied", "stroke"}
  stroke = train.select(train.cohort == "stroke")
  assert all(s.startswith("SPS") for s in stroke.subject.tolist())
  np.testing.assert_allclose(np.unique(stroke.speed),
                             synthetic.STROKE_POPULATION_SPEEDS, atol=1e-6)
  with pytest.raises(DataError):
    dataset.load_split(tmp_path, "synthetic_population_mixed", "test")


def test_build_rejects_bad_arguments(tmp_path):
  with pytest.raises(ConfigError, match="--dataset=nope"):
    tfds_builders.build("nope", tmp_path)
  with pytest.raises(DataError, match="needs --manual_dir"):
    tfds_builders.build("camargo", tmp_path)
  with pytest.raises(DataError, match="not a folder"):
    tfds_builders.build("folder", tmp_path, manual_dir=tmp_path / "missing")
  with pytest.raises(ConfigError, match="unknown dataset parameter"):
    tfds_builders.build("synthetic_stroke", tmp_path, bogus=1)


def write_synthetic_folder(raw, num_subjects):
  """A folder-format dataset of synthetic able-bodied subjects at 0.6 and
  1.2 m/s (one .npz per trial) -> (raw, sorted subject names)."""
  raw.mkdir()
  cohort = synthetic.make_able_bodied_cohort(
      seed=3, num_subjects=num_subjects, speeds=[0.6, 1.2], rate_hz=100.0)
  lines = []
  for k, t in enumerate(cohort):
    time = np.arange(t.angles.shape[0]) / t.rate_hz
    trial_files.write_trial_npz(raw / f"t{k}.npz", time, t.angles)
    lines.append(f"{t.subject},{t.speed_mps},t{k}.npz")
  names = sorted({t.subject for t in cohort})
  (raw / "subjects.csv").write_text(
      "subject,cohort,paretic_side\n" +
      "".join(f"{s},able_bodied,\n" for s in names))
  (raw / "trials.csv").write_text("subject,speed_mps,path\n" +
                                  "\n".join(lines) + "\n")
  return raw, names


def test_folder_dataset(tmp_path):
  raw, _ = write_synthetic_folder(tmp_path / "raw", num_subjects=3)
  out = tmp_path / "data"
  tfds_builders.build("folder", out, manual_dir=raw)
  loaded = {s: dataset.load_split(out, "folder", s)
            for s in ("train", "validation", "test")}
  assert all(ts.num_subjects == 1 and len(ts) == 2 for ts in loaded.values())
  info = json.loads((tfds_builders.dataset_path(out, "folder") /
                     tfds_builders.STATS_FILE).read_text())
  assert info["build"]["manual_dir"] == str(raw.resolve())


def test_folder_split_column_is_the_users_own_split(tmp_path):
  """subjects.csv's optional split column (e.g. leave one person out)
  replaces the seeded 13/4/5 split; a bad value is a one-line error."""
  raw, names = write_synthetic_folder(tmp_path / "raw", num_subjects=4)
  wanted = dict(zip(names, ["test", "train", "train", "validation"]))
  (raw / "subjects.csv").write_text(
      "subject,cohort,paretic_side,split\n" +
      "".join(f"{s},able_bodied,,{wanted[s]}\n" for s in names))
  out = tmp_path / "data"
  tfds_builders.build("folder", out, manual_dir=raw)
  for split in ("train", "validation", "test"):
    ts = dataset.load_split(out, "folder", split)
    assert set(ts.subjects) == {s for s in names if wanted[s] == split}
  (raw / "subjects.csv").write_text(
      "subject,cohort,paretic_side,split\n" +
      "".join(f"{s},able_bodied,,{'holdout' if s == names[0] else 'train'}"
              f"\n" for s in names))
  with pytest.raises(DataError, match="split 'holdout' must be one of"):
    tfds_builders.build("folder", tmp_path / "data2", manual_dir=raw)


def test_trialset_from_trials_and_select():
  trials = synthetic.make_stroke_cohort(seed=2, num_subjects=2)
  ts = dataset.TrialSet.from_trials(trials)
  assert ts.x.shape == (len(trials), 600, 6)
  assert ts.subjects == ("ST01", "ST02")
  sub = ts.select(ts.subject == "ST02")
  assert sub.subjects == ("ST02",) and set(sub.subject_index) == {0}
  assert len(sub) == np.sum(ts.subject == "ST02")
  np.testing.assert_array_equal(sub.x, ts.x[ts.subject == "ST02"])
  with pytest.raises(DataError):
    ts.select(np.zeros(len(ts), bool))


def test_load_split_indexed_addresses_the_data_source(data_dir):
  import tensorflow_datasets as tfds
  ts, index = dataset.load_split_indexed(data_dir, "synthetic_able_bodied",
                                         "train")
  assert sorted(index.tolist()) == list(range(len(ts)))
  source = tfds.data_source("gaitjax_gait/synthetic_able_bodied",
                            data_dir=str(data_dir), split="train")
  for i in range(len(ts)):
    e = source[int(index[i])]
    np.testing.assert_array_equal(e["angles"], ts.x[i])
    assert e["subject"].decode() == ts.subject[i]
    assert e["speed"] == ts.speed[i]
