"""The evaluation job with fake generators on tiny harmonic cohorts."""
import json
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from gaitjax.data import reference
from gaitjax.data.dataset import TrialSet
from gaitjax.data.normalize import NormStats
from gaitjax.errors import CheckpointError, ConfigError, DataError
from gaitjax.eval import evaluate as ev
from gaitjax.eval import selection
from gaitjax.eval import generators
from gaitjax.generate import GenerationResult

RATE = 20.0
T = 200                      # 10 s: 7-12 gait cycles at these speeds
AB_SPEEDS = (0.6, 0.8, 1.0, 1.2)
ST_SPEEDS = (0.3, 0.6, 0.9, 0.75)


def gait(speed, subject_k, t_len=T):
  """[T, 6] harmonic gait; subjects differ in amplitudes and offsets, speed
  shortens the stride and enlarges the hip/knee excursion."""
  period = 1.5 - 0.45 * speed
  w = 2 * np.pi * np.arange(t_len) / RATE / period
  a = 1.0 + 0.05 * subject_k + 0.4 * speed
  off = 4.0 * np.sin(1.7 * subject_k)

  def leg(w):
    return [10 + off + 22 * a * np.cos(w) + 3 * np.cos(2 * w + 0.3),
            35 + 2 * off + 18 * a * np.cos(w + 1.2)
            + (4 + subject_k + 8 * speed) * np.cos(2 * w + 0.5),
            2 - off + 9 * np.cos(w + 2.0) + 4 * np.cos(2 * w + 1.0)]

  return np.stack(leg(w) + leg(w + np.pi), axis=1).astype(np.float32)


def cohort_set(subjects, speeds, cohort="able_bodied", paretic=None,
               first_k=0):
  x, v, s, ps = [], [], [], []
  for k, subj in enumerate(subjects):
    for speed in speeds:
      x.append(gait(speed, first_k + k))
      v.append(speed)
      s.append(subj)
      ps.append(paretic[k] if paretic else "")
  return TrialSet.from_arrays(np.stack(x), v, s, cohort=[cohort] * len(x),
                              paretic_side=ps)


def fake_config(seq_len=T, source_speeds=(), name="diffusion"):
  return ml_collections.ConfigDict({
      "model": {"name": name},
      "data": {"seq_len": seq_len, "rate_hz": RATE,
               "source_speeds": tuple(source_speeds)},
      "sampling": {"num_steps": 10, "eta": 0.0}})


class FakeGenerator:
  """Generator.generate's contract. 'oracle' returns the real trial of the
  source's subject at the target speed; 'copy' returns the source."""

  def __init__(self, pool, mode="oracle", template=None, **config):
    self.pool, self.mode, self.template = pool, mode, template
    self.config = fake_config(**config)
    self.stats = {"able_bodied": NormStats(np.zeros(6), np.ones(6))}
    self.calls = []

  def _subject_of(self, x):
    for i in range(len(self.pool)):
      if np.array_equal(self.pool.x[i], x):
        return self.pool.subject[i]
    raise AssertionError("source not in pool")

  def generate(self, sources, v_src, v_tgt, *, num_samples=1, seed=0,
               cohort="able_bodied"):
    sources = np.asarray(sources)
    v_tgt = np.asarray(v_tgt)
    self.calls.append((sources.shape[0], v_tgt.shape, cohort))
    assert cohort in self.stats
    out = np.zeros(v_tgt.shape + sources.shape[1:], np.float32)
    for i, x in enumerate(sources):
      subj = self._subject_of(x)
      idx = np.flatnonzero(self.pool.subject == subj)
      for j, v in enumerate(v_tgt[i]):
        near = idx[np.argmin(np.abs(self.pool.speed[idx] - v))]
        out[i, j] = self.pool.x[near] if self.mode == "oracle" else x
    samples = np.repeat(out[:, :, None], num_samples, axis=2)
    return GenerationResult(mean=out, std=np.zeros_like(out), samples=samples,
                            v_src=np.asarray(v_src, np.float32),
                            v_tgt=v_tgt.astype(np.float32),
                            extrapolated=np.zeros(v_tgt.shape, bool))


@pytest.fixture(scope="module")
def cohorts():
  train = cohort_set(["AB01", "AB02", "AB03"], AB_SPEEDS)
  test = cohort_set(["AB04", "AB05", "AB06"], AB_SPEEDS, first_k=3)
  stroke = cohort_set(["ST01", "ST02", "ST03"], ST_SPEEDS, cohort="stroke",
                      paretic=["left", "right", "left"], first_k=6)
  ab = selection.CohortData("able_bodied", test, selection.concat_trialsets([train, test]),
                     dataset="tiny_ab", split="test")
  st = selection.CohortData("stroke", stroke, stroke,
                     stats=NormStats(np.full(6, 5.0), np.full(6, 2.0)),
                     dataset="tiny_stroke", split="test")
  template = reference.TemplateModel.fit(train)
  return {"ab": ab, "st": st, "train": train, "template": template,
          "pool": selection.concat_trialsets([train, test, stroke])}


@pytest.fixture(scope="module")
def full_run(cohorts, tmp_path_factory):
  out = tmp_path_factory.mktemp("eval")
  gens = {"oracle": FakeGenerator(cohorts["pool"], "oracle",
                                  template=cohorts["template"]),
          "copy": FakeGenerator(cohorts["pool"], "copy", name="tcn")}
  results = ev.evaluate_cohorts(gens, [cohorts["ab"], cohorts["st"]],
                                out_dir=str(out), seed=3)
  return results, out, gens


def headline(results, model, cohort="able_bodied"):
  return results[model][cohort]["summary"]["headline"]


def test_report_folder_has_every_model_and_cohort(full_run):
  results, out, gens = full_run
  assert set(results) == {"oracle", "copy", "copy_source", "population_mean",
                          "cycle_template"}
  doc = json.loads((out / "metrics.json").read_text())
  assert set(doc["models"]) == set(results)
  for model in results:
    assert set(doc["models"][model]) == {"able_bodied", "stroke"}
    # 3 subjects x 4 x 4 speeds, all pairs.
    assert doc["models"][model]["able_bodied"]["summary"]["num_records"] == 48
  assert doc["extra"]["main_model"] == "oracle"
  assert doc["extra"]["cohorts"]["able_bodied"]["num_pairs"] == 48
  assert doc["extra"]["cohorts"]["able_bodied"]["rank_cohort_subjects"] == 6
  md = (out / "report.md").read_text()
  for model in results:
    assert f"| {model} " in md
  assert "MAE paretic (deg)" in md
  for name in ("fig2_cycles_able_bodied", "fig3_cycles_stroke",
               "fig4_cadence", "fig5_rank_heatmap", "fig6_mae_heatmap",
               "fig7_speed_able_bodied"):
    assert (out / "figures" / f"{name}.png").stat().st_size > 5000
  # Calls carry all targets of their sources: 4, or the 3 base-speed
  # targets of a stroke randomised-encoding source. Rows: 48 + 48 pairs
  # per cohort, less the stroke pairs off the base speeds (48 -> 27).
  calls = gens["oracle"].calls
  assert {shape[1] for _, shape, _ in calls} == {3, 4}
  assert sum(shape[0] * shape[1] for _, shape, _ in calls) == 48 * 3 + 27
  assert {c for _, _, c in gens["oracle"].calls} == {"able_bodied", "stroke"}
  assert gens["oracle"].stats["stroke"].mean[0] == 5.0


def test_oracle_beats_copy_source_and_is_rank_one(full_run):
  results, _, _ = full_run
  for cohort in ("able_bodied", "stroke"):
    oracle = headline(results, "oracle", cohort)
    assert oracle["mae"] < 1e-4
    assert oracle["r"] == pytest.approx(1.0, abs=1e-6)
    assert oracle["rank"] == 1.0
    assert oracle["mae"] + 0.5 < headline(results, "copy_source", cohort)["mae"]
  # The fake copy model and the built-in baseline are the same function.
  fake = results["copy"]["able_bodied"]["records"]
  built = results["copy_source"]["able_bodied"]["records"]
  assert [r["mae"] for r in fake] == pytest.approx([r["mae"] for r in built])
  # Identity pairs of copy_source are exact.
  ident = [r for r in built if r["v_src"] == r["v_tgt"]]
  assert max(r["mae"] for r in ident) < 1e-4
  # cycle_template knows the speed change: better than copying.
  assert (headline(results, "cycle_template")["mae"]
          < headline(results, "copy_source")["mae"])
  stroke = results["oracle"]["stroke"]["records"][0]
  assert "mae_paretic" in stroke and "mae_hip_non_paretic" in stroke


def test_randomised_encoding_rank_is_worse(full_run):
  results, _, _ = full_run
  recs = results["oracle"]["able_bodied"]["records"]
  assert all(r["random_subject"] and r["random_subject"] != r["subject"]
             for r in recs)
  assert all(r["rank_random"] >= 2 for r in recs)
  h = headline(results, "oracle")
  assert h["rank_random"] > h["rank"] + 0.5
  # Stroke: only base-speed pairs (0.75 m/s is self-selected).
  st = results["oracle"]["stroke"]["records"]
  off = [r for r in st if 0.75 in (round(r["v_src"], 2), round(r["v_tgt"], 2))]
  assert off and all(r["rank_random"] is None or np.isnan(r["rank_random"])
                     for r in off)
  assert all(np.isfinite(r["rank_random"]) for r in st if r not in off)


def test_select_pairs_deterministic_stratified(cohorts):
  ts = cohorts["ab"].eval_set
  a = selection.select_pairs(ts, 10, seed=1)
  b = selection.select_pairs(ts, 10, seed=1)
  np.testing.assert_array_equal(a, b)
  assert len(a) == 10 and len({tuple(p) for p in a}) == 10
  assert np.all(ts.subject[a[:, 0]] == ts.subject[a[:, 1]])
  # Every source speed's identity pair comes first, then other cells.
  ident = a[a[:, 0] == a[:, 1]]
  assert sorted(set(ts.speed[ident[:, 0]].round(2))) == list(AB_SPEEDS)
  assert len(set(ts.subject[a[:, 0]])) == 3
  np.testing.assert_array_equal(selection.select_pairs(ts, 0),
                                selection.select_pairs(ts, 999))
  assert len(selection.select_pairs(ts, 0)) == 48
  with pytest.raises(ConfigError, match="max_pairs must be >= 0"):
    selection.select_pairs(ts, -1)


def test_max_pairs_and_fixed_source_models(cohorts):
  gens = {"oracle": FakeGenerator(cohorts["pool"]),
          "mlp": FakeGenerator(cohorts["pool"], name="mlp",
                               source_speeds=(0.8,))}
  results = ev.evaluate_cohorts(
      gens, [cohorts["ab"]], template=cohorts["template"], max_pairs=12,
      out_dir=None, randomised_encoding=False, simple_baselines=False)
  assert len(results["oracle"]["able_bodied"]["records"]) == 12
  mlp = results["mlp"]["able_bodied"]["records"]
  assert len(mlp) == 12 and {round(r["v_src"], 3) for r in mlp} == {0.8}
  assert "rank_random" not in mlp[0]
  ana = results["oracle"]["able_bodied"]["analyses"]
  assert "num_sources" in ana and "num_sources" not in \
      results["mlp"]["able_bodied"]["analyses"]


def test_bad_inputs_are_one_line_errors(cohorts):
  pool = cohorts["pool"]
  ab = cohorts["ab"]
  kw = dict(template=cohorts["template"], out_dir=None)
  empty = selection.CohortData("able_bodied",
                        TrialSet.from_arrays(np.zeros((0, T, 6)), [], []),
                        pool, dataset="tiny", split="test")
  with pytest.raises(DataError, match="no trials to evaluate"):
    ev.evaluate_cohorts({"m": FakeGenerator(pool)}, [empty], **kw)
  with pytest.raises(CheckpointError, match="sequences of 600 samples"):
    ev.evaluate_cohorts({"m": FakeGenerator(pool, seq_len=600)}, [ab], **kw)
  no_stats = FakeGenerator(pool)
  no_stats.stats = {}
  with pytest.raises(CheckpointError, match="normalisation statistics"):
    ev.evaluate_cohorts({"m": no_stats}, [ab], **kw)
  st = selection.CohortData("stroke", cohorts["st"].eval_set, cohorts["st"].pool,
                     stats=None, dataset="tiny_stroke")
  with pytest.raises(DataError, match="no stroke normalisation"):
    ev.evaluate_cohorts({"m": FakeGenerator(pool)}, [st], **kw)
  with pytest.raises(ConfigError, match="reserved"):
    ev.evaluate_cohorts({"copy_source": FakeGenerator(pool)}, [ab], **kw)
  with pytest.raises(ConfigError, match="max_pairs"):
    ev.evaluate_cohorts({"m": FakeGenerator(pool)}, [ab], max_pairs=-2, **kw)
  for e in (DataError("x"), CheckpointError("x"), ConfigError("x")):
    assert "\n" not in str(e)


def test_evaluate_loads_paths_and_refuses_empty_speed_subset(
    cohorts, monkeypatch, tmp_path):
  import gaitjax.generate
  made = []

  def fake_generator(path, which="best", **kw):
    made.append((path, which, kw))
    return FakeGenerator(cohorts["pool"], template=cohorts["template"])

  monkeypatch.setattr(gaitjax.generate, "Generator", fake_generator)
  monkeypatch.setattr(selection, "load_cohort", lambda d, ds, sp, c: (
      cohorts["ab"] if c == "able_bodied" else cohorts["st"]))
  with pytest.raises(DataError, match=r"--speeds=2\.5: no trial"):
    ev.evaluate({"m": "runs/x"}, data_dir="d", out_dir=str(tmp_path),
                speed_subset=[2.5])
  results = ev.evaluate({"m": "runs/x"}, data_dir="d", out_dir=str(tmp_path),
                        speed_subset=[0.6, 1.0], num_steps=7,
                        stroke_dataset="tiny_stroke", make_figures=False)
  assert made[-1] == ("runs/x", "best", {"num_steps": 7,
                                        "temperature": None,
                                        "allow_extrapolation": True})
  # 3 subjects x 2 x 2 able-bodied pairs; stroke has only 0.6 (3 pairs).
  assert len(results["m"]["able_bodied"]["records"]) == 12
  assert len(results["m"]["stroke"]["records"]) == 3
  doc = json.loads((tmp_path / "metrics.json").read_text())
  assert doc["extra"]["settings"]["speed_subset"] == [0.6, 1.0]
  with pytest.raises(ConfigError, match="max_pairs"):
    ev.evaluate({}, data_dir="d", out_dir=str(tmp_path), max_pairs=-1)


def test_parse_checkpoints():
  from gaitjax.cli import evaluate as evaluate_cli  # defines absl flags
  assert evaluate_cli.parse_checkpoints(["a=runs/a", " b = runs/b"], None) == {
      "a": "runs/a", "b": "runs/b"}
  assert evaluate_cli.parse_checkpoints([], "runs/cpu/") == {"cpu": "runs/cpu/"}
  for bad, match in ((["runs/a"], "name=path"), (["a=x", "a=y"], "twice"),
                     (["population_mean=x"], "reserved")):
    with pytest.raises(ConfigError, match=match):
      evaluate_cli.parse_checkpoints(bad, None)


def test_launch_bad_flag_is_one_line(tmp_path):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  proc = subprocess.run(
      [sys.executable, os.path.join(root, "launch", "evaluate.py"),
       "--max_pairs=-1", f"--output_dir={tmp_path}"],
      capture_output=True, text=True, timeout=120, cwd=root,
      env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1] == (
      "error: --max_pairs must be >= 0 (0 = all pairs), got -1")


def test_end_to_end_with_a_tiny_trained_checkpoint(tmp_path):
  """Two training steps of configs/tiny.py, then the real Generator path."""
  import jax
  from configs import tiny
  from gaitjax.data import pairs as pairs_lib
  from gaitjax.data import pipeline
  from gaitjax.data.normalize import fit_stats
  from gaitjax.train import loop

  def trials(subjects, speeds, first_k, **kw):
    ts = cohort_set(subjects, speeds, first_k=first_k, **kw)
    x = np.stack([gait(v, first_k + list(subjects).index(s), t_len=600)
                  for s, v in zip(ts.subject, ts.speed)])
    return TrialSet.from_arrays(x, ts.speed, ts.subject, ts.cohort,
                                ts.paretic_side)

  train = trials(["AB01", "AB02"], AB_SPEEDS, 0)
  val = trials(["AB03"], AB_SPEEDS, 2)
  test = trials(["AB04", "AB05"], AB_SPEEDS, 3)
  stroke = trials(["ST01", "ST02"], ST_SPEEDS, 6, cohort="stroke",
                  paretic=["left", "right"])
  config = tiny.get_config()
  config.data.reference = "template"
  stats = {"able_bodied": fit_stats(train.x), "stroke": fit_stats(stroke.x)}
  template = reference.TemplateModel.fit(train)
  d = jax.local_device_count()
  sampler = pipeline.PairSampler(train, stats["able_bodied"], template,
                                 config.data, 4, d)
  val_batches = list(pipeline.fixed_pairs_batches(
      val, pairs_lib.within_subject_pairs(val)[:4], stats["able_bodied"],
      template, config.data, 4, d))
  workdir = str(tmp_path / "run")
  loop.train_and_evaluate(config, workdir, data=loop.TrainData(
      sampler, val_batches, stats, template, "tiny"))

  gens = generators.load_generators({"diffusion": workdir})
  cohorts = [selection.CohortData("able_bodied", test,
                           selection.concat_trialsets([train, val, test]),
                           dataset="tiny", split="test"),
             selection.CohortData("stroke", stroke, stroke, dataset="tiny_stroke",
                           split="test")]
  out = tmp_path / "eval"
  results = ev.evaluate_cohorts(gens, cohorts, max_pairs=5, out_dir=str(out),
                                make_figures=False)
  assert set(results) == {"diffusion", "copy_source", "population_mean",
                          "cycle_template"}
  ab = results["diffusion"]["able_bodied"]["records"]
  st = results["diffusion"]["stroke"]["records"]
  assert len(ab) == 5 and len(st) == 5
  # Stroke 0.3 m/s lies below the 0.6-1.2 m/s training range: generated
  # anyway and flagged (the 0.3 -> 0.3 identity pair is always selected).
  assert all(r["extrapolated"] == (r["v_tgt"] < 0.59) for r in st)
  assert any(r["extrapolated"] for r in st)
  doc = json.loads((out / "metrics.json").read_text())
  info = doc["extra"]["models"]["diffusion"]
  assert info["kind"] == "diffusion" and info["step"] == 2
  assert info["ddim_steps"] == 2 and len(info["checksum"]) == 64
  assert "cycle_template" in (out / "report.md").read_text()


def test_split_all_evaluates_every_subject_of_the_dataset(tiny_data_dir):
  """--split=all: a model trained elsewhere is tested on a whole dataset."""
  from gaitjax.data import dataset as dataset_lib
  data = selection.load_cohort(str(tiny_data_dir), "synthetic_able_bodied",
                               selection.ALL, "able_bodied")
  per_split = [dataset_lib.load_split(str(tiny_data_dir),
                                      "synthetic_able_bodied", s)
               for s in selection.ALL_SPLITS]
  assert len(data.eval_set) == sum(len(s) for s in per_split)
  assert set(data.eval_set.subjects) == set().union(
      *[set(s.subjects) for s in per_split])
  assert len(data.pool) == len(data.eval_set)
  test_only = selection.load_cohort(str(tiny_data_dir),
                                    "synthetic_able_bodied", "test",
                                    "able_bodied")
  assert len(test_only.eval_set) < len(data.eval_set)


def test_split_all_leaves_out_a_regression_fitted_on_evaluated_people(
    tiny_data_dir):
  """--split=all evaluates the train subjects too: a cycle_regression
  fitted on them would be scored on its own training people."""
  from gaitjax.eval import extra_rows
  data = selection.load_cohort(str(tiny_data_dir), "synthetic_able_bodied",
                               selection.ALL, "able_bodied")
  rows, notes, _ = extra_rows.build_rows(
      str(tiny_data_dir), "synthetic_able_bodied", pool=data.pool,
      with_oracle=False, evaluates_train_split=True)
  assert "cycle_regression" not in rows
  assert any("whose subjects are evaluated here" in n for n in notes)
  rows, _, _ = extra_rows.build_rows(
      str(tiny_data_dir), "synthetic_able_bodied", pool=data.pool,
      with_oracle=False)
  assert "cycle_regression" in rows and "cycle_template_loso" in rows
