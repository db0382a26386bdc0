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
import numpy as np
import pytest

from gaitjax.data import preprocess
from gaitjax.data import reference
from gaitjax.data import tfds_builders
from gaitjax.data.trial import Trial

from tests.conftest import tiny_config

F = "fukuchi2018/"
T05_MPS = 1.22
T01_MPS = 0.488
TRAIN_STEPS = 300
# Columns of the dataset's cycle averages in the project's channel order.
AVG_COLUMNS = ("RHipAngleZ", "RKneeAngleZ", "RAnkleAngleZ", "LHipAngleZ",
               "LKneeAngleZ", "LAnkleAngleZ")


def _cycle_average(path):
  a = np.genfromtxt(path, delimiter=",", names=True)
  return np.stack([a[c] for c in AVG_COLUMNS])  # [6, 101]


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
  from gaitjax.generate import Generator
  d = np.loadtxt(shared_data / F / "WBDS01walkT01_sagittal2D_150Hz.csv",
                 delimiter=",", skiprows=1)
  x = preprocess.to_model_input(Trial(
      "WBDS01", T01_MPS, d[:, 1:], preprocess.sampling_rate(d[:, 0]),
      origin="WBDS01walkT01"))
  real = (_cycle_average(shared_data / F / "WBDS01walkT05ang_sagittal.csv")
          - _cycle_average(shared_data / F / "WBDS01walkT01ang_sagittal.csv"))
  gen = Generator(str(trained), allow_extrapolation=True)
  out = gen.generate(x, v_src=T01_MPS, v_tgt=T05_MPS, num_samples=4, seed=0)
  source = reference.cycle_info(x).mean
  pred = reference.cycle_info(np.asarray(out.mean[0, 0])).mean - source
  tmpl = reference.template_baseline(x, T01_MPS, T05_MPS, gen.template)
  pred_tmpl = reference.cycle_info(tmpl).mean - source
  model_err = float(np.mean(np.abs(pred - real)))
  tmpl_err = float(np.mean(np.abs(pred_tmpl - real)))
  copy_err = float(np.mean(np.abs(real)))
  print(f"WBDS01 T01 -> T05 change of mean cycle, MAE vs the dataset's own "
        f"averages: tiny model ({TRAIN_STEPS} steps, 4 samples) "
        f"{model_err:.2f} deg, cycle template {tmpl_err:.2f} deg, "
        f"copy-source {copy_err:.2f} deg; per channel model "
        f"{np.round(np.mean(np.abs(pred - real), axis=1), 2).tolist()}")
  assert np.all(np.isfinite(pred))
  assert model_err < copy_err
  assert tmpl_err < copy_err
