"""Issue 11: model inputs from whole gait cycles, folder passes, mixed
cohorts with their own stroke statistics, and the real WBDS01 check."""
import json
import types

import numpy as np
import pytest

from gaitjax import constants
from gaitjax.data import trial_files
from gaitjax.data import assemble
from gaitjax.data import preprocess
from gaitjax.data import reference
from gaitjax.data import synthetic
from gaitjax.data import tfds_builders
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError

WBDS = "fukuchi2018/WBDS01walkT01_sagittal2D_150Hz.csv"
WBDS_SPEED = 0.488


def _synthetic_trial(duration_s=32.0, rate_hz=100.0, speed=1.0, seed=3):
  return synthetic.make_able_bodied_cohort(
      seed=seed, num_subjects=1, speeds=[speed], duration_s=duration_s,
      rate_hz=rate_hz)[0]


def _cut(trial, start_s, end_s, origin):
  a, b = int(round(start_s * trial.rate_hz)), int(round(end_s * trial.rate_hz))
  return Trial(trial.subject, trial.speed_mps, trial.angles[a:b],
               trial.rate_hz, trial.cohort, trial.paretic_side, origin)


def _roughness(x):
  """Per channel: max |first difference|, max |second difference|."""
  return (np.abs(np.diff(x, axis=0)).max(axis=0),
          np.abs(np.diff(x, 2, axis=0)).max(axis=0))


def _mean_cycle_mae(x, y):
  """[6] MAE between the mean cycles of two [T, 6] inputs (20 Hz)."""
  a, b = reference.cycle_info(x).mean, reference.cycle_info(y).mean
  return np.abs(a - b).mean(axis=1)


# ------------------------------------------------------------- unit tests
def test_a_30_s_recording_is_used_as_is():
  t = _synthetic_trial(32.0)
  asm = assemble.model_input([t])
  assert asm.record is None
  np.testing.assert_array_equal(asm.x, preprocess.to_model_input(t))


def test_short_trial_is_assembled_from_whole_cycles():
  full = _synthetic_trial(32.0)
  short = _cut(full, 0.0, 12.0, "s12.csv")
  asm = assemble.model_input([short])
  x_full = preprocess.to_model_input(full)
  assert asm.x.shape == (600, 6) and asm.x.dtype == np.float32
  rec = asm.record
  assert rec["inputs"] == ["s12.csv"] and rec["joins"] >= 1
  assert min(rec["cycles"].values()) >= 5
  # Continuous joins: no step or kink beyond what the signal itself has.
  d1, d2 = _roughness(asm.x)
  f1, f2 = _roughness(x_full)
  assert np.all(d1 <= 1.25 * f1 + 0.2), (d1, f1)
  assert np.all(d2 <= 1.25 * f2 + 0.2), (d2, f2)
  assert _mean_cycle_mae(asm.x, x_full).mean() < 0.5
  # to_model_input assembles short recordings the same way.
  np.testing.assert_array_equal(preprocess.to_model_input(short), asm.x)


def test_passes_of_different_rates_are_joined():
  a = _cut(_synthetic_trial(10.0, 100.0), 0.0, 6.0, "p1.csv")
  b = _cut(_synthetic_trial(10.0, 30.0), 1.0, 7.0, "p2.csv")
  asm = assemble.model_input([a, b])
  assert asm.record["inputs"] == ["p1.csv", "p2.csv"]
  assert len(asm.record["cycles_per_input"]) == 2
  assert np.all(np.isfinite(asm.x)) and asm.x.shape == (600, 6)


def test_too_few_cycles_is_a_one_line_error_naming_the_files():
  t = _synthetic_trial(10.0)
  with pytest.raises(DataError) as info:
    assemble.model_input([_cut(t, 0, 2.5, "a.csv"), _cut(t, 3, 5.5, "b.csv")])
  msg = str(info.value)
  assert "\n" not in msg
  assert "2 passes (a.csv, b.csv)" in msg and "need at least 5" in msg
  assert "complete gait cycles found (right" in msg
  with pytest.raises(DataError, match="need at least 9 per side"):
    assemble.model_input([_cut(t, 0, 8, "c.csv")], min_cycles=9)


def test_split_paths_and_grouping():
  assert assemble.split_paths(["a.csv,b.csv", "c.csv"]) == [
      "a.csv", "b.csv", "c.csv"]
  assert assemble.split_paths("a.csv") == ["a.csv"]
  t = _synthetic_trial(10.0)
  groups = assemble.group_conditions(
      [_cut(t, 0, 5, "a"), _cut(t, 5, 10, "b"),
       Trial("other", 1.0, t.angles, t.rate_hz, origin="c")])
  assert [[g.origin for g in grp] for grp in groups] == [["a", "b"], ["c"]]


# ------------------------------------------------------- real signals
def _wbds(shared_data):
  d = np.loadtxt(shared_data / WBDS, delimiter=",", skiprows=1)
  rate = preprocess.sampling_rate(d[:, 0])
  return Trial("WBDS01", WBDS_SPEED, d[:, 1:], rate, origin="WBDS01T01")


def test_wbds01_15_s_and_5_s_passes_match_the_30_s_mean_cycle(shared_data):
  full = _wbds(shared_data)
  x_full = preprocess.to_model_input(full)
  short = assemble.model_input([_cut(full, 0, 15, "T01_15s")])
  passes = assemble.model_input(
      [_cut(full, 5 * i, 5 * (i + 1), f"T01_pass{i}") for i in range(5)])
  f1, f2 = _roughness(x_full)
  for name, asm in (("15 s", short), ("5 x 5 s passes", passes)):
    mae = _mean_cycle_mae(asm.x, x_full)
    print(f"WBDS01 T01 {name}: mean-cycle MAE vs the 30 s input "
          f"{mae.mean():.3f} deg (per channel {np.round(mae, 3).tolist()}), "
          f"{asm.record['cycles']} cycles, {asm.record['joins']} joins")
    assert mae.mean() < 0.5, (name, mae)
    d1, d2 = _roughness(asm.x)
    assert np.all(d1 <= 1.25 * f1) and np.all(d2 <= 1.25 * f2), (name, d1, d2)


def test_real_short_trials_folder_builds_without_skipping(shared_data,
                                                          tmp_path):
  root = shared_data / "fukuchi2018" / "wbds_multispeed" / "folder"
  if not root.is_dir():
    pytest.skip(f"{root} not found")
  tfds_builders.build("folder", tmp_path, manual_dir=root)
  info = json.loads((tfds_builders.dataset_path(tmp_path, "folder")
                     / tfds_builders.STATS_FILE).read_text())
  assert info["skipped"] == []
  rows = sum(1 for _ in open(root / "trials.csv")) - 1
  assert len(info["assembled"]) == rows
  assert all(min(r["cycles"].values()) >= 5 for r in info["assembled"])
  assert "cohort_stats" not in info  # no stroke subject


# ------------------------------------------------ folders: passes, cohorts
def _write_mixed_folder(root, num_able=6, num_stroke=3):
  """Able-bodied subjects (15 s trials at 100 Hz; one condition as 3
  overground-like passes of 7 s) and stroke subjects."""
  root.mkdir(parents=True, exist_ok=True)
  able = synthetic.make_able_bodied_cohort(
      seed=0, num_subjects=num_able, speeds=[0.8, 1.0, 1.2], duration_s=15.0,
      rate_hz=100.0)
  # Stroke trials of 32 s: at 0.3 m/s a synthetic stroke stride can be
  # longer than the 2.5 s cycle detection covers.
  stroke = synthetic.make_stroke_cohort(seed=1, num_subjects=num_stroke,
                                        duration_s=32.0, rate_hz=100.0)
  subjects = {t.subject: (t.cohort, t.paretic_side or "")
              for t in able + stroke}
  rows = []
  for t in able + stroke:
    stem = f"{t.subject}_{t.speed_mps:.3f}"
    if t.subject == able[0].subject and t.speed_mps == 1.0:
      for k in range(3):  # passes of one condition
        a = int(k * 4.5 * t.rate_hz)
        seg = t.angles[a:a + int(7 * t.rate_hz)]
        trial_files.write_trial_npz(root / f"{stem}_pass{k}.npz",
                            np.arange(seg.shape[0]) / t.rate_hz, seg)
        rows.append(f"{t.subject},{t.speed_mps},{stem}_pass{k}.npz")
      continue
    trial_files.write_trial_npz(root / f"{stem}.npz",
                        np.arange(t.angles.shape[0]) / t.rate_hz, t.angles)
    rows.append(f"{t.subject},{t.speed_mps},{stem}.npz")
  (root / "subjects.csv").write_text(
      "subject,cohort,paretic_side\n" + "".join(
          f"{s},{c},{p}\n" for s, (c, p) in subjects.items()))
  (root / "trials.csv").write_text("subject,speed_mps,path\n"
                                   + "\n".join(rows) + "\n")
  return root, sorted({t.subject for t in stroke}), able[0].subject


@pytest.fixture(scope="module")
def mixed_build(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("mixed")
  root, stroke, pass_subject = _write_mixed_folder(tmp / "lab")
  data_dir = tmp / "data"
  tfds_builders.build("folder", data_dir, manual_dir=root)
  return data_dir, root, stroke, pass_subject


def test_mixed_folder_splits_and_own_stroke_statistics(mixed_build):
  from gaitjax.data import dataset as dataset_lib
  from gaitjax.data import normalize
  data_dir, _, stroke, pass_subject = mixed_build
  path = tfds_builders.dataset_path(data_dir, "folder")
  info = json.loads((path / tfds_builders.STATS_FILE).read_text())
  splits = info["splits"]
  assert set(stroke) <= set(splits["test"])
  assert not set(stroke) & set(splits["train"] + splits["validation"])
  assert [len(splits[s]) - (len(stroke) if s == "test" else 0)
          for s in tfds_builders.SPLITS] == [4, 1, 1]  # 13/4/5 scaled to 6
  assert info["fit_on"] == "train"
  entry = info["cohort_stats"]["stroke"]
  assert entry["subjects"] == stroke and entry["seed"] == 0
  assert json.loads((path / tfds_builders.STROKE_STATS_FILE).read_text()) \
      == entry
  test = dataset_lib.load_split(data_dir, "folder", "test")
  own = normalize.fit_stats(test.x[test.cohort == "stroke"])
  got = tfds_builders.cohort_stats(info, "stroke")
  np.testing.assert_allclose(got.mean, own.mean, rtol=1e-5)
  assert not np.allclose(got.mean, info["stats"]["mean"], atol=0.1)
  # The passes of one condition became one example, assembled.
  joined = [r for r in info["assembled"] if len(r["inputs"]) == 3]
  assert len(joined) == 1 and joined[0]["subject"] == pass_subject
  # Every 15 s able-bodied condition (6 subjects x 3 speeds) is assembled;
  # the 32 s stroke trials are used as they are.
  assert len(info["assembled"]) == 18
  assert all(not r["subject"].startswith("ST") for r in info["assembled"])


def test_evaluate_both_cohorts_of_one_folder_build(mixed_build, tmp_path,
                                                   tiny_checkpoint):
  from gaitjax.eval import evaluate
  data_dir = mixed_build[0]
  results = evaluate.evaluate(
      {"tiny": str(tiny_checkpoint)}, data_dir=str(data_dir),
      out_dir=str(tmp_path / "report"),
      able_bodied_dataset="folder", stroke_dataset=None,
      cohorts=("able_bodied", "stroke"), max_pairs=12,
      randomised_encoding=False, make_figures=False, extra_baselines=False)
  assert set(results["copy_source"]) == {"able_bodied", "stroke"}
  assert set(results["tiny"]) == {"able_bodied", "stroke"}
  metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
  text = json.dumps(metrics)
  assert "stroke normalised with the statistics of the folder build" in text
  assert "stroke" in text and "able_bodied" in text
  report = (tmp_path / "report" / "report.md").read_text()
  assert "ST MAE" in report or "stroke" in report.lower()


def test_sample_several_trial_files_and_folder_stroke_stats(
    tiny_checkpoint, mixed_build, tmp_path):
  from gaitjax import sample_job
  _, root, stroke, _ = mixed_build
  t = _synthetic_trial(12.0)
  paths = []
  for k in range(2):
    seg = t.angles[int(k * 5.5 * t.rate_hz):int((k * 5.5 + 6) * t.rate_hz)]
    p = tmp_path / f"pass{k}.csv"
    trial_files.write_trial_csv(str(p), np.arange(seg.shape[0]) / t.rate_hz, seg)
    paths.append(str(p))
  base = dict(checkpoint=str(tiny_checkpoint), which="best", dataset=None,
              data_dir="data", split="test", folder=None, trial=None,
              source_speed=None, subject="p01", cohort="able_bodied",
              target_speeds=["0.8"], num_samples=1, num_steps=None, eta=None,
              batch_size=None, seed=0, allow_extrapolation=True,
              chunk_size=64, num_shards=None, shard_index=None,
              min_cycles=None)
  out = tmp_path / "trial_out"
  sample_job.main_from_flags(types.SimpleNamespace(
      **{**base, "output_dir": str(out), "trial": [",".join(paths)],
         "source_speed": 1.0}))
  meta = json.loads((out / sample_job.META_FILE).read_text())
  assert meta["assembled"][0]["inputs"] == paths
  assert min(meta["assembled"][0]["cycles"].values()) >= 5
  out2 = tmp_path / "folder_out"
  sample_job.main_from_flags(types.SimpleNamespace(
      **{**base, "output_dir": str(out2), "folder": str(root),
         "target_speeds": []}))
  meta2 = json.loads((out2 / sample_job.META_FILE).read_text())
  assert meta2["stroke_stats"]["subjects"] == stroke
  assert any(len(r["inputs"]) == 3 for r in meta2["assembled"])
