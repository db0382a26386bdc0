"""Fine-tuning from another run: config.train.init_from (gaitjax/train/loop.py).

Most tests use the fake linear Task of test_train.py (compiles in well under
a second); the last one pretrains the real tiny diffusion model on the
synthetic cohort and fine-tunes it on a folder-format dataset.
"""
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gaitjax.data import normalize
from gaitjax.errors import CheckpointError, ConfigError
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import loop
from gaitjax.train import tasks
import conftest
import test_train as tt  # the fake Task, sampler and config


def _wide_task():
  """The fake linear task with a bias of another shape (7,)."""
  base = tt._fake_task()

  def init_params(rng, batch):
    p = base.init_params(rng, batch)
    return {"w": p["w"], "b": jnp.zeros((7,))}

  return tasks.Task(init_params=init_params, loss_fn=base.loss_fn,
                    predict_fn=base.predict_fn, name="fake_wide")


tasks.register_task("fake_wide", lambda config: _wide_task())


def _finetune_config(init_from, **train):
  """Another seed (a fresh init differs from the pretrained params) and a
  warmup whose first learning rate is 0: the step-1 params are the initial
  params exactly."""
  config = tt._config(**train)
  config.seed = 1
  config.optim.warmup_steps = 10
  config.train.init_from = str(init_from)
  return config


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("pretrain")
  config = tt._config()
  loop.train_and_evaluate(config, str(workdir), data=tt._data(config))
  return workdir


def test_finetune_starts_from_pretrained_params_at_step_0(pretrained,
                                                          tmp_path):
  best = ckpt_lib.load_for_inference(pretrained, "best")
  config = _finetune_config(pretrained, num_steps=1, checkpoint_every=1,
                            eval_every=1)
  final = loop.train_and_evaluate(config, str(tmp_path), data=tt._data(config))
  assert final["step"] == 1  # step 0 -> 1, not the pretrained run's step
  first = ckpt_lib.load_for_inference(tmp_path, 1)
  tt._assert_trees_close(first.params, best.params, rtol=0, atol=0)
  # Ignoring init_from would start from this run's own (different) init.
  fresh = jax.jit(lambda: tasks.get_task(config).init_params(
      jax.random.fold_in(jax.random.PRNGKey(1), 0), None))()
  assert not np.allclose(fresh["w"], best.params["w"], atol=1e-3)
  # Provenance: init_from.json and every checkpoint's metadata.
  record = json.loads((tmp_path / loop.INIT_FROM_FILE).read_text())
  assert record["init_from"] == str(pretrained)
  assert record["step"] == best.step and record["sha256"] == best.checksum
  assert record["path"] == best.path and record["stats"] == "finetune"
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints", read_only=True)
  meta = ckpt.read_json_items(["metadata"])["metadata"]
  ckpt.close()
  assert meta["init_from"] == record
  assert json.loads((tmp_path / "config.json").read_text())["train"][
      "init_from"] == str(pretrained)


def test_optimizer_state_is_fresh(pretrained, tmp_path):
  """Fine-tuning's Adam moments start at zero, not at the pretrained run's."""
  config = _finetune_config(pretrained, num_steps=1)
  config.optim.warmup_steps = 0
  loop.train_and_evaluate(config, str(tmp_path), data=tt._data(config))
  # Same result from a run initialised by hand with the pretrained params.
  best = ckpt_lib.load_for_inference(pretrained, "best")
  ref = tmp_path / "by_hand"
  task = tt._fake_task()
  manual = tasks.Task(init_params=lambda r, b: jax.tree.map(jnp.asarray,
                                                            best.params),
                      loss_fn=task.loss_fn, predict_fn=task.predict_fn)
  config2 = _finetune_config("", num_steps=1)
  config2.optim.warmup_steps = 0
  loop.train_and_evaluate(config2, str(ref), data=tt._data(config2),
                          task=manual)
  tt._assert_trees_close(ckpt_lib.load_for_inference(tmp_path, 1).params,
                         ckpt_lib.load_for_inference(ref, 1).params,
                         rtol=1e-6, atol=1e-7)


def test_resume_uses_own_checkpoint_not_init_from(pretrained, tmp_path):
  src = tmp_path / "pretrain_copy"
  shutil.copytree(pretrained, src)
  config = _finetune_config(src, num_steps=4)
  full = loop.train_and_evaluate(config, str(tmp_path / "full"),
                                 data=tt._data(config))
  with pytest.raises(RuntimeError, match="simulated crash"):
    loop.train_and_evaluate(config, str(tmp_path / "cut"),
                            data=tt._data(config, crash_at=3))
  shutil.rmtree(src)  # a resume must not need (or re-read) init_from
  resumed = loop.train_and_evaluate(config, str(tmp_path / "cut"),
                                    data=tt._data(config))
  assert resumed["step"] == full["step"] == 4
  tt._assert_trees_close(ckpt_lib.load_for_inference(tmp_path / "cut").params,
                         ckpt_lib.load_for_inference(tmp_path / "full").params,
                         rtol=1e-6, atol=1e-7)
  ckpt = ckpt_lib.Checkpointer(tmp_path / "cut" / "checkpoints",
                               read_only=True)
  meta = ckpt.read_json_items(["metadata"], step=4)["metadata"]
  ckpt.close()
  assert meta["init_from"]["init_from"] == str(src)  # carried forward


def test_wrong_architecture_is_one_line_error(pretrained, tmp_path):
  config = _finetune_config(pretrained)
  config.model.name = "fake_wide"
  with pytest.raises(CheckpointError) as e:
    loop.train_and_evaluate(config, str(tmp_path), data=tt._data(config))
  msg = str(e.value)
  assert "\n" not in msg and "config.train.init_from=" in msg
  assert "b has shape (6,) in the checkpoint, (7,) from the config" in msg
  assert not (tmp_path / "checkpoints").exists() or not list(
      (tmp_path / "checkpoints").iterdir())


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p / "nowhere", "does not exist"),
    (lambda p: p, "no checkpoints in"),
])
def test_missing_init_from_is_one_line_error(tmp_path, make, fragment):
  (tmp_path / "empty").mkdir()
  source = make(tmp_path / "empty")
  config = _finetune_config(source)
  with pytest.raises(CheckpointError, match=fragment) as e:
    loop.train_and_evaluate(config, str(tmp_path / "run"),
                            data=tt._data(config))
  assert "\n" not in str(e.value)
  assert f"config.train.init_from={source}" in str(e.value)


def test_bad_init_from_stats(pretrained, tmp_path):
  config = _finetune_config(pretrained)
  config.train.init_from_stats = "both"
  with pytest.raises(ConfigError, match="init_from_stats"):
    loop.train_and_evaluate(config, str(tmp_path), data=tt._data(config))


def test_pretrained_stats_option(pretrained, tmp_path):
  """init_from_stats='pretrained' saves the pretraining statistics (also
  after a resume); the default keeps the fine-tuning data's."""
  config = _finetune_config(pretrained, num_steps=2, checkpoint_every=1)
  config.train.init_from_stats = "pretrained"
  data = tt._data(config)
  own = normalize.NormStats(mean=np.full(6, 3.0), std=np.full(6, 2.0))
  data.stats = {"able_bodied": own}
  loop.train_and_evaluate(config, str(tmp_path / "p"), data=data)
  saved = ckpt_lib.load_for_inference(tmp_path / "p").stats["able_bodied"]
  np.testing.assert_allclose(saved.mean, np.zeros(6))  # the pretraining's
  config.train.num_steps = 3
  loop.train_and_evaluate(config, str(tmp_path / "p"), data=data)
  saved = ckpt_lib.load_for_inference(tmp_path / "p", "latest")
  assert saved.step == 3
  np.testing.assert_allclose(saved.stats["able_bodied"].mean, np.zeros(6))
  config.train.init_from_stats = "finetune"
  loop.train_and_evaluate(config, str(tmp_path / "f"), data=data)
  saved = ckpt_lib.load_for_inference(tmp_path / "f").stats["able_bodied"]
  np.testing.assert_allclose(saved.mean, np.full(6, 3.0))


def _write_folder_dataset(root):
  """Three able-bodied subjects at four speeds in the folder format."""
  from gaitjax.data import trial_files
  from gaitjax.data import synthetic
  root.mkdir()
  cohort = synthetic.make_able_bodied_cohort(
      seed=11, num_subjects=3, speeds=[0.6, 0.8, 1.0, 1.2], rate_hz=100.0)
  lines = []
  for k, t in enumerate(cohort):
    time = np.arange(t.angles.shape[0]) / t.rate_hz
    trial_files.write_trial_csv(root / f"t{k}.csv", time, t.angles)
    lines.append(f"{t.subject},{t.speed_mps},t{k}.csv")
  subjects = sorted({t.subject for t in cohort})
  (root / "subjects.csv").write_text(
      "subject,cohort,paretic_side\n"
      + "".join(f"{s},able_bodied,\n" for s in subjects))
  (root / "trials.csv").write_text("subject,speed_mps,path\n"
                                   + "\n".join(lines) + "\n")


def test_pretrain_synthetic_finetune_folder(tiny_checkpoint, tmp_path):
  """The issue's path: synthetic pretraining -> a lab's folder dataset."""
  from gaitjax.data import dataset as dataset_lib
  from gaitjax.data import tfds_builders
  from gaitjax.generate import Generator
  _write_folder_dataset(tmp_path / "lab")
  data_dir = tmp_path / "data"
  tfds_builders.build("folder", data_dir, manual_dir=tmp_path / "lab")
  config = conftest.tiny_config(data_dir)
  config.data.dataset = "folder"
  config.seed = 3
  config.optim.warmup_steps = 5
  config.train.num_steps = 1
  config.train.init_from = str(tiny_checkpoint)
  loop.train_and_evaluate(config, str(tmp_path / "ft"))
  pre = ckpt_lib.load_for_inference(tiny_checkpoint, "best")
  ft = ckpt_lib.load_for_inference(tmp_path / "ft", 1)
  tt._assert_trees_close(ft.params, pre.params, rtol=0, atol=0)
  # Normalisation statistics come from the folder dataset.
  lab = dataset_lib.load_stats(data_dir, "folder")
  np.testing.assert_allclose(ft.stats["able_bodied"].mean, lab.mean)
  assert not np.allclose(ft.stats["able_bodied"].mean,
                         pre.stats["able_bodied"].mean)
  gen = Generator(str(tmp_path / "ft"), num_steps=2)
  val = dataset_lib.load_split(data_dir, "folder", "validation")
  out = gen.generate(val.x[0], v_src=float(val.speed[0]), v_tgt=[1.0])
  assert out.mean.shape == (1, 1, 600, 6) and np.all(np.isfinite(out.mean))
