"""The real check (issue 11): a tiny trained model's pipeline on real gait.

WBDS01 (Fukuchi 2018) T01 (0.488 m/s, continuous 150 Hz angles) is the
source; the prediction at T05 (~1.22 m/s, the speed synthetic.py assumes) is
compared with the dataset's own cycle averages: the predicted change of the
mean cycle (generated minus source, both through our cycle detection) against
the real change (T05 average minus T01 average; the constant offset of the
averages cancels). Copy-source predicts no change. The model is configs/
tiny.py trained for 300 steps (~20 s on 2 CPU cores) on a small synthetic
cohort; the synthetic cohort is not tuned to this subject here.
"""
import pathlib

import numpy as np
import pytest

from gaitjax.data import tfds_builders

from tests.conftest import tiny_config

TRAIN_STEPS = 300


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  from gaitjax.train import loop
  data_dir = tmp_path_factory.mktemp("real_check_data")
  tfds_builders.build(tfds_builders.ALL_SYNTHETIC, data_dir, num_subjects=5,
                      speeds=(0.5, 0.75, 1.0, 1.25))
  workdir = tmp_path_factory.mktemp("real_check_run")
  config = tiny_config(data_dir)
  config.train.num_steps = TRAIN_STEPS
  config.train.eval_every = TRAIN_STEPS
  config.train.checkpoint_every = TRAIN_STEPS
  config.train.log_every = 100
  loop.train_and_evaluate(config, str(workdir))
  return workdir


def test_wbds01_t01_to_t05_beats_copy_source(shared_data, trained):
  from gaitjax.eval import real_check
  from gaitjax.generate import Generator
  gen = Generator(str(trained), allow_extrapolation=True)
  res = real_check.wbds01_change(gen, shared_data, num_samples=(4,))
  model_err = res["model_k4"]["mae"]
  tmpl_err = res["cycle_template"]["mae"]
  copy_err = res["copy_source"]["mae"]
  print(f"WBDS01 T01 -> T05 change of mean cycle, MAE vs the dataset's own "
        f"averages: tiny model ({TRAIN_STEPS} steps, 4 samples) "
        f"{model_err:.2f} deg, cycle template {tmpl_err:.2f} deg, "
        f"copy-source {copy_err:.2f} deg; per channel model "
        f"{res['model_k4']['per_channel']}")
  assert np.all(np.isfinite(res["model_k4"]["per_channel"]))
  assert model_err < copy_err
  assert tmpl_err < copy_err


def test_real_check_cli(shared_data, trained, tmp_path):
  """launch/real_check.py end to end (tiny model, 2 samples, 2 steps)."""
  import json
  import subprocess
  import sys
  out = tmp_path / "rc"
  r = subprocess.run([sys.executable, "launch/real_check.py",
                      f"--checkpoint={trained}", f"--output_dir={out}",
                      f"--shared_data={shared_data}", "--num_samples=2",
                      "--num_steps=2", "--offset_deg=10"],
                     capture_output=True, text=True, timeout=600,
                     cwd=str(pathlib.Path(__file__).parents[1]))
  assert r.returncode == 0, r.stderr[-2000:]
  doc = json.loads((out / "real_check.json").read_text())
  assert set(doc["wbds01"]) >= {"model_k1", "model_k2", "cycle_template",
                                "copy_source"}
  assert len(doc["offsets"]["shift_error"]) == 6
  assert "WBDS01 T01 -> T05" in r.stdout
  bad = subprocess.run([sys.executable, "launch/real_check.py",
                        f"--checkpoint={trained}",
                        f"--shared_data={tmp_path}"], capture_output=True,
                       text=True, timeout=600,
                       cwd=str(pathlib.Path(__file__).parents[1]))
  assert bad.returncode != 0 and "file not found" in bad.stderr
  assert "Traceback" not in bad.stderr
