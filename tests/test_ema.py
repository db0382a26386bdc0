"""The parameter EMA (config.train.ema_decay > 0) through the training loop.

Four wirings, each with a test that fails if it breaks: validation (and so
the best checkpoint) uses the EMA; the checkpoint stores it;
checkpoint.load_for_inference returns it by default; train.init_from starts
from the prior's EMA. Plus: ema_decay = 0 checkpoints load as before, and a
resume with a changed ema_decay. All on the fake linear Task of
test_train.py (compiles in well under a second), replayed step by step
against the loop.
"""
import json

import jax
import numpy as np
import pytest

from gaitjax.errors import CheckpointError
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import loop
from gaitjax.train import state as state_lib
from gaitjax.train import step as step_lib
from gaitjax.train import tasks
import test_train as tt  # the fake Task, sampler and config

# Low, so that after 2-4 steps the EMA (warm-up d = 0.1, 0.18, 0.25, 0.31)
# is far from the parameters.
DECAY = 0.5


def _config(**train):
  """test_train's fake-task config with a learning rate at which 4 steps
  move the parameters well away from their EMA."""
  config = tt._config(**train)
  config.optim.learning_rate = 0.05
  return config


def _run(workdir, config):
  return loop.train_and_evaluate(config, str(workdir), data=tt._data(config))


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
  """(workdir, config, final metrics) of 4 steps with ema_decay = DECAY."""
  workdir = tmp_path_factory.mktemp("ema")
  config = _config(ema_decay=DECAY)
  return workdir, config, _run(workdir, config)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
  """The same 4 steps with ema_decay = 0 (the paper)."""
  workdir = tmp_path_factory.mktemp("plain")
  config = _config()
  return workdir, config, _run(workdir, config)


def _replay(config, num_steps: int) -> state_lib.TrainState:
  """The loop's state after num_steps, stepped by hand (same keys, batches)."""
  data = tt._data(config)
  root = jax.random.PRNGKey(int(config.seed))
  task = tasks.get_task(config)
  example = jax.tree.map(lambda x: np.asarray(x)[0], data.sampler.batch(0))
  state = jax.jit(lambda r: state_lib.create_train_state(
      r, config, task, example))(jax.random.fold_in(root, loop._INIT_STREAM))
  p_train = step_lib.make_train_step(
      task, jax.random.fold_in(root, loop._TRAIN_STREAM), jax.local_devices())
  for s in range(num_steps):
    state, _ = p_train(state, data.sampler.batch(s))
  return state


def _val_loss(config, params) -> float:
  """The loop's validation loss of ``params``."""
  data = tt._data(config)
  p_eval = step_lib.make_eval_step(tasks.get_task(config), jax.local_devices())
  eval_rng = jax.random.fold_in(jax.random.PRNGKey(int(config.seed)),
                                loop._EVAL_STREAM)
  rows = [step_lib.unreplicate_metrics(
      p_eval(params, b, jax.random.fold_in(eval_rng, i)))["loss"]
          for i, b in enumerate(data.val_batches)]
  return float(np.mean(rows))


def _logged_val(workdir):
  return {int(l["step"]): l["val_loss"] for l in tt._val_lines(workdir)}


def _far(a, b) -> bool:
  """Some leaf differs by far more than float rounding."""
  return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))) > 1e-3


# ----------------------------------------------------------- checkpoint


def test_checkpoint_stores_the_ema_beside_the_params(ema_run):
  workdir, config, _ = ema_run
  for step in ckpt_lib.Checkpointer(workdir / "checkpoints",
                                    read_only=True).all_steps():
    want = _replay(config, step)
    ema = ckpt_lib.load_for_inference(workdir, step, params="ema")
    raw = ckpt_lib.load_for_inference(workdir, step, params="raw")
    assert ema.params_kind == "ema_params" and raw.params_kind == "params"
    tt._assert_trees_close(ema.params, want.ema_params, rtol=1e-6, atol=1e-7)
    tt._assert_trees_close(raw.params, want.params, rtol=1e-6, atol=1e-7)
    assert _far(ema.params, raw.params)
    assert ema.checksum == ckpt_lib.params_checksum(ema.params)
    assert ema.checksum != raw.checksum


# ----------------------------------------------------------- validation


def test_validation_and_the_best_checkpoint_use_the_ema(ema_run):
  workdir, config, final = ema_run
  logged = _logged_val(workdir)
  assert sorted(logged) == [2, 4]
  ckpt = ckpt_lib.Checkpointer(workdir / "checkpoints", read_only=True)
  try:
    for step, val in logged.items():
      state = _replay(config, step)
      ema_val = _val_loss(config, state.ema_params)
      raw_val = _val_loss(config, state.params)
      assert abs(ema_val - raw_val) > 1e-3 * abs(raw_val)
      np.testing.assert_allclose(val, ema_val, rtol=1e-6)
      if step in ckpt.all_steps():  # latest + best are kept
        # The loss that ranks the checkpoints is the EMA's.
        np.testing.assert_allclose(ckpt.val_loss(step), ema_val, rtol=1e-6)
    assert ckpt.best_step() == min(logged, key=logged.get)
  finally:
    ckpt.close()
  np.testing.assert_allclose(final["val_loss"], logged[4], rtol=1e-6)
  assert final["best_val_loss"] == min(logged.values())


def test_ema_decay_0_validates_the_params(plain_run):
  workdir, config, _ = plain_run
  state = _replay(config, 4)
  assert state.ema_params is None and state.eval_params() is state.params
  np.testing.assert_allclose(_logged_val(workdir)[4],
                             _val_loss(config, state.params), rtol=1e-6)


# ------------------------------------------------------------ inference


def test_load_for_inference_returns_the_ema_by_default(ema_run):
  workdir, config, _ = ema_run
  want = _replay(config, 4)
  got = ckpt_lib.load_for_inference(workdir, "latest")
  assert got.params_kind == "ema_params"
  tt._assert_trees_close(got.params, want.ema_params, rtol=1e-6, atol=1e-7)
  # Also when the model comes from a config without EMA (as init_from does).
  other = _config()
  got = ckpt_lib.load_for_inference(workdir, "latest", config=other)
  assert got.params_kind == "ema_params"
  tt._assert_trees_close(got.params, want.ema_params, rtol=1e-6, atol=1e-7)


def test_checkpoints_without_ema_load_as_before(plain_run):
  workdir, config, _ = plain_run
  want = _replay(config, 4).params
  for choice in ("auto", "raw"):
    got = ckpt_lib.load_for_inference(workdir, 4, params=choice)
    assert got.params_kind == "params"
    tt._assert_trees_close(got.params, want, rtol=1e-6, atol=1e-7)
  with pytest.raises(CheckpointError, match="no EMA"):
    ckpt_lib.load_for_inference(workdir, 4, params="ema")
  with pytest.raises(ValueError, match="params='mean'"):
    ckpt_lib.load_for_inference(workdir, 4, params="mean")


# ------------------------------------------------------------ init_from


def test_init_from_starts_from_the_prior_ema(ema_run, tmp_path):
  prior, _, _ = ema_run
  best = ckpt_lib.load_for_inference(prior, "best")
  raw = ckpt_lib.load_for_inference(prior, "best", params="raw")
  assert best.params_kind == "ema_params"
  # A warmup whose first learning rate is 0: the step-1 params are the
  # initial ones exactly (as in test_init_from.py).
  config = _config(num_steps=1, checkpoint_every=1, eval_every=1,
                      init_from=str(prior))
  config.seed = 1
  config.optim.warmup_steps = 10
  _run(tmp_path, config)
  first = ckpt_lib.load_for_inference(tmp_path, 1)
  assert first.params_kind == "params"  # this run keeps no EMA
  tt._assert_trees_close(first.params, best.params, rtol=0, atol=0)
  assert _far(first.params, raw.params)
  record = json.loads((tmp_path / loop.INIT_FROM_FILE).read_text())
  assert record["params"] == "ema_params"
  assert record["sha256"] == best.checksum


# --------------------------------------------------------------- resume


@pytest.mark.parametrize("before,after", [(0.0, DECAY), (DECAY, 0.0)])
def test_resume_with_a_changed_ema_decay(tmp_path, before, after):
  _run(tmp_path, _config(num_steps=2, ema_decay=before))
  _run(tmp_path, _config(ema_decay=after))
  ckpt = ckpt_lib.Checkpointer(tmp_path / "checkpoints", read_only=True)
  try:
    assert ckpt.all_steps()[-1] == 4
    assert ckpt.has_ema(4) == (after > 0)
  finally:
    ckpt.close()
  # The parameters themselves do not depend on the EMA.
  raw = ckpt_lib.load_for_inference(tmp_path, 4, params="raw")
  tt._assert_trees_close(raw.params, _replay(_config(), 4).params,
                         rtol=1e-6, atol=1e-7)
  if after > 0:
    ema = ckpt_lib.load_for_inference(tmp_path, 4)
    assert ema.params_kind == "ema_params" and _far(ema.params, raw.params)
