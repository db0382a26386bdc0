"""Train steps, the loop (resume, NaN, time limit) and launch/train.py.

Runs on the two fake CPU devices tests/conftest.py sets up. The loop tests
use a tiny fake Task (a linear map, compiles in well under a second); the
subprocess smoke test runs the real diffusion model of configs/tiny.py on a
tiny built dataset.
"""
import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from gaitjax.data import normalize
from gaitjax.errors import ConfigError, TrainingError
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import loop
from gaitjax.train import state as state_lib
from gaitjax.train import step as step_lib
from gaitjax.train import tasks
import conftest  # the shared subprocess environment

REPO = pathlib.Path(__file__).resolve().parents[1]
T = 8  # fake sequences: [B, T, 6]


# ------------------------------------------------------------------ fakes


def _fake_task(noisy: bool = True) -> tasks.Task:
  """x_tgt ~ x_src @ w + b; noisy=True adds rng-dependent noise (dropout)."""

  def init_params(rng, batch):
    del batch
    return {"w": 0.1 * jax.random.normal(rng, (6, 6)), "b": jnp.zeros((6,))}

  def predict_fn(params, batch, rng):
    del rng
    return batch["x_src"] @ params["w"] + params["b"]

  def loss_fn(params, batch, rng, *, train):
    pred = predict_fn(params, batch, rng)
    if noisy and train:
      pred = pred + 0.1 * jax.random.normal(rng, pred.shape)
    mse = jnp.mean((pred - batch["x_tgt"]) ** 2)
    return mse, {"loss": mse, "mae": jnp.mean(jnp.abs(pred - batch["x_tgt"]))}

  return tasks.Task(init_params=init_params, loss_fn=loss_fn,
                    predict_fn=predict_fn, name="fake")


tasks.register_task("fake_linear", lambda config: _fake_task())


class _FakeSampler:
  """Batches [D, B/D, T, 6], a pure function of (seed, step).

  nan_at / crash_at: a batch index that holds NaN / raises.
  """

  def __init__(self, batch_size, num_devices, seed=0, nan_at=None,
               crash_at=None):
    self.b, self.d, self.seed = batch_size, num_devices, seed
    self.nan_at, self.crash_at = nan_at, crash_at

  def batch(self, step):
    if step == self.crash_at:
      raise RuntimeError(f"simulated crash at batch {step}")
    rng = np.random.default_rng([self.seed, step])
    x = rng.normal(size=(self.b, T, 6)).astype(np.float32)
    w = np.linspace(-1, 1, 36, dtype=np.float32).reshape(6, 6)
    y = x @ w + 0.05 * rng.normal(size=x.shape).astype(np.float32)
    if step == self.nan_at:
      y[0, 0, 0] = np.nan
    v = rng.uniform(0.5, 1.8, self.b).astype(np.float32)
    out = {"x_src": x, "x_tgt": y, "x_ref": x, "v_src": v, "v_tgt": v,
           "subject": np.zeros(self.b, np.int32)}
    return {k: a.reshape((self.d, self.b // self.d) + a.shape[1:])
            for k, a in out.items()}

  def state_dict(self, step):
    return {"step": int(step), "seed": self.seed}

  def restore_step(self, state):
    assert state["seed"] == self.seed
    return int(state["step"])


def _config(**train):
  config = tiny.get_config()
  config.model.name = "fake_linear"
  config.data.seq_len = T
  config.optim.schedule = "cosine"
  config.train.batch_size = 4
  config.train.num_steps = 4
  config.train.log_every = 1
  config.train.eval_every = 2
  config.train.checkpoint_every = 2
  config.train.num_val_batches = 1
  for k, v in train.items():
    config.train[k] = v
  return config


def _data(config, **sampler_kw):
  d = jax.local_device_count()
  stats = normalize.NormStats(mean=np.zeros(6), std=np.ones(6))
  sampler = _FakeSampler(config.train.batch_size, d, **sampler_kw)
  val = [_FakeSampler(config.train.batch_size, d, seed=99).batch(0)]
  return loop.TrainData(sampler=sampler, val_batches=val,
                        stats={"able_bodied": stats}, template=None,
                        dataset="fake")


def _params(workdir, which="latest"):
  return ckpt_lib.load_for_inference(workdir, which).params


def _val_lines(workdir):
  return [json.loads(l) for l in
          (workdir / "metrics.jsonl").read_text().splitlines()
          if "val_loss" in l]


def _assert_trees_close(a, b, **kw):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(
      np.asarray(x), np.asarray(y), **kw), a, b)


# ------------------------------------------------------------------ steps


def test_two_devices_match_one_device_on_the_same_global_batch():
  assert jax.local_device_count() == 2, "conftest should give 2 CPU devices"
  config = _config()
  task = _fake_task(noisy=False)  # the per-device keys differ by design
  sampler = _FakeSampler(8, 2)
  example = jax.tree.map(lambda x: x[0], sampler.batch(0))
  rng = jax.random.PRNGKey(0)
  s2 = state_lib.create_train_state(rng, config, task, example)
  s1 = state_lib.create_train_state(rng, config, task, example)
  p2 = step_lib.make_train_step(task, rng, jax.local_devices())
  p1 = step_lib.make_train_step(task, rng, jax.local_devices()[:1])
  for i in range(3):
    b2 = sampler.batch(i)
    b1 = jax.tree.map(lambda x: x.reshape((1, -1) + x.shape[2:]), b2)
    s2, m2 = p2(s2, b2)
    s1, m1 = p1(s1, b1)
  assert int(s2.step) == int(s1.step) == 3
  _assert_trees_close(s2.params, s1.params, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(m2["loss"][0], m1["loss"][0], rtol=1e-5)
  np.testing.assert_allclose(m2["loss"][0], m2["loss"][1])  # pmean'd
  assert s1.params["w"].shape == (6, 6)
  # The update moved the params off their initial values.
  s0 = state_lib.create_train_state(rng, config, task, example)
  assert not np.allclose(s0.params["w"], s2.params["w"])


def test_learning_rate_schedule_warmup_then_cosine():
  config = _config()
  config.optim.warmup_steps = 10
  config.optim.learning_rate = 1e-3
  lr = state_lib.learning_rate_schedule(config.optim, 110)
  np.testing.assert_allclose([lr(0), lr(5), lr(10), lr(60), lr(110)],
                             [0.0, 5e-4, 1e-3, 5e-4, 0.0], atol=1e-9)
  config.optim.schedule = "constant"
  lr = state_lib.learning_rate_schedule(config.optim, 110)
  np.testing.assert_allclose(lr(100), 1e-3)


# ------------------------------------------------------------------- loop


def test_resume_after_crash_equals_uninterrupted_run(tmp_path):
  config = _config()
  full = loop.train_and_evaluate(config, str(tmp_path / "a"),
                                 data=_data(config))
  assert full["step"] == 4
  # Dies while training batch 3, after the step-2 checkpoint.
  with pytest.raises(RuntimeError, match="simulated crash"):
    loop.train_and_evaluate(config, str(tmp_path / "b"),
                            data=_data(config, crash_at=3))
  assert ckpt_lib.Checkpointer(tmp_path / "b" / "checkpoints").all_steps() \
      == [2]
  resumed = loop.train_and_evaluate(config, str(tmp_path / "b"),
                                    data=_data(config))
  assert resumed["step"] == 4
  assert resumed["best_step"] in (2, 4)
  assert resumed["best_val_loss"] == min(
      l["val_loss"] for l in _val_lines(tmp_path / "a"))
  _assert_trees_close(_params(tmp_path / "a"), _params(tmp_path / "b"),
                      rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(resumed["val_loss"], full["val_loss"],
                             rtol=1e-6)
  # One metrics line per step, the crashed run's step 3 replaced.
  lines = [json.loads(l) for l in
           (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
  assert [l["step"] for l in lines] == [1, 2, 3, 4]
  a_lines = [json.loads(l) for l in
             (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
  np.testing.assert_allclose([l["loss"] for l in lines],
                             [l["loss"] for l in a_lines], rtol=1e-6)
  assert "val_loss" in lines[1] and "val_loss" not in lines[0]
  assert json.loads((tmp_path / "b" / "config.json").read_text())[
      "model"]["name"] == "fake_linear"


def test_nan_loss_raises_with_step_and_keeps_last_checkpoint(tmp_path):
  config = _config(num_steps=6)
  with pytest.raises(TrainingError, match=r"step 3\b") as e:
    loop.train_and_evaluate(config, str(tmp_path), data=_data(config,
                                                              nan_at=2))
  assert "checkpoints/2" in str(e.value)
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints")
  assert ckpt.all_steps() == [2]
  ckpt.close()
  bundle = ckpt_lib.load_for_inference(tmp_path, "latest")
  assert bundle.step == 2
  assert all(np.all(np.isfinite(p)) for p in jax.tree.leaves(bundle.params))


def test_time_limit_stops_and_saves(tmp_path):
  config = _config(num_steps=1000, max_minutes=1e-9, checkpoint_every=500)
  final = loop.train_and_evaluate(config, str(tmp_path), data=_data(config))
  assert final["step"] == 1
  assert ckpt_lib.Checkpointer(tmp_path / "checkpoints").all_steps() == [1]
  assert np.isfinite(final["val_loss"])


def test_bad_config_is_one_line_config_error(tmp_path):
  config = _config()
  config.train.batch_size = 3  # not divisible by 2 devices
  with pytest.raises(ConfigError, match="batch_size=3 must be divisible"):
    loop.train_and_evaluate(config, str(tmp_path), data=_data(_config()))


def test_validation_pairs_are_a_fixed_subset():
  pairs = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(
      -1, 2)
  a = loop.validation_pairs(pairs, 16, seed=0)
  b = loop.validation_pairs(pairs, 16, seed=0)
  np.testing.assert_array_equal(a, b)
  assert len(a) == 16 and len(np.unique(a[:, 0])) > 3
  assert len(loop.validation_pairs(pairs[:5], 16, seed=0)) == 5


# ------------------------------------------------------------------ tasks


def test_get_task_dispatch():
  config = tiny.get_config()
  config.model.name = "nope"
  with pytest.raises(ConfigError, match="nope"):
    tasks.get_task(config)
  config.model.name = "fake_linear"
  assert tasks.get_task(config).name == "fake"
  from configs.baselines import mlp  # builds the module, no params
  task = tasks.get_task(mlp.get_config())
  assert isinstance(task, tasks.Task) and task.name == "mlp"


def test_diffusion_predict_noise_follows_noise_id_not_row():
  config = tiny.get_config()
  task = tasks.get_task(config)
  batch = tasks.dummy_batch(config, 2)
  rng = np.random.default_rng(0)
  batch["x_src"] = rng.normal(size=batch["x_src"].shape).astype(np.float32)
  batch["x_ref"] = batch["x_src"]
  batch["v_tgt"] = np.array([0.8, 1.4], np.float32)
  batch["noise_id"] = np.array([5, 9], np.int32)
  params = jax.jit(task.init_params)(jax.random.PRNGKey(0), batch)
  predict = jax.jit(task.predict_fn)
  key = jax.random.PRNGKey(1)
  out = np.asarray(predict(params, batch, key))
  swapped = np.asarray(predict(params, {k: v[::-1] for k, v in batch.items()},
                               key))
  assert out.shape == (2, config.data.seq_len, 6) and np.isfinite(out).all()
  np.testing.assert_allclose(swapped[::-1], out, rtol=1e-5, atol=1e-5)
  assert not np.allclose(out[0], out[1], atol=1e-3)


# ------------------------------------------------------- launch/train.py


_env = conftest.subprocess_env


def _launch(*args, timeout=120):
  return subprocess.run(
      [sys.executable, str(REPO / "launch" / "train.py"), *args],
      capture_output=True, text=True, env=_env(), cwd=str(REPO),
      timeout=timeout)


@pytest.mark.parametrize("override, expected", [
    ("--config.model.no_such_field=1", "no_such_field"),
    ("--config.train.num_steps=abc", "num_steps"),
])
def test_bad_override_is_one_line_exit_2(tmp_path, override, expected):
  r = _launch("--config=configs/tiny.py", f"--workdir={tmp_path}", override)
  assert r.returncode == 2, r.stderr
  lines = [l for l in r.stderr.splitlines() if l.strip()]
  assert len(lines) == 1, r.stderr
  assert expected in lines[0] and "Traceback" not in r.stderr


def test_launch_train_one_step_smoke(tmp_path, tiny_data_dir):
  workdir = tmp_path / "run"
  r = _launch("--config=configs/tiny.py", f"--workdir={workdir}",
              f"--config.data.data_dir={tiny_data_dir}",
              "--config.train.num_steps=1",
              timeout=240)
  assert r.returncode == 0, r.stderr[-3000:]
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  record = json.loads(lines[-1])
  assert record["step"] == 1 and np.isfinite(record["loss"])
  assert np.isfinite(record["val_loss"])
  bundle = ckpt_lib.load_for_inference(workdir, "best")
  assert bundle.step == 1 and bundle.config.model.name == "diffusion"
  assert bundle.template is not None and "able_bodied" in bundle.stats
  # The same run's config error path: one line, exit 2.
  r = _launch("--config=configs/tiny.py", f"--workdir={tmp_path / 'bad'}",
              "--config.model.num_heads=3")
  assert r.returncode == 2
  assert r.stderr.strip().count("\n") == 0 and "num_heads" in r.stderr
