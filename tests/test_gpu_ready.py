"""What a GPU paper run relies on, checked on CPU (issue 12.3): bf16 compute
trains like float32, and the train step makes no implicit host-device copy."""
import jax
import numpy as np
import pytest

from conftest import tiny_config
from gaitjax.train import loop
from gaitjax.train import state as state_lib
from gaitjax.train import step as step_lib
from gaitjax.train import tasks

NUM_STEPS = 50


def _one_device_run(config):
  """(state, pmapped step on one device, sampler, device) for a config."""
  devices = jax.local_devices()[:1]
  data = loop.load_train_data(config, 1)
  task = tasks.get_task(config)
  rng = jax.random.PRNGKey(0)
  example = jax.tree.map(lambda x: x[0], data.sampler.batch(0))
  state = state_lib.create_train_state(rng, config, task, example)
  return (state, step_lib.make_train_step(task, rng, devices), data.sampler,
          devices[0])


def _losses(data_dir, dtype: str):
  config = tiny_config(data_dir)
  config.model.dtype = dtype
  config.train.batch_size = 8
  state, step, sampler, _ = _one_device_run(config)
  losses = []
  for i in range(NUM_STEPS):
    state, metrics = step(state, sampler.batch(i))
    losses.append(float(metrics["loss"][0]))
  return np.asarray(losses)


def test_bf16_compute_trains_like_float32(tiny_data_dir):
  f32 = _losses(tiny_data_dir, "float32")
  bf16 = _losses(tiny_data_dir, "bfloat16")
  assert np.all(np.isfinite(bf16))
  # Same data, same init (f32 parameters in both): the curves agree to
  # within bf16's rounding of activations, step by step and on average.
  np.testing.assert_allclose(bf16[:5], f32[:5], rtol=0.05)
  assert abs(bf16[-10:].mean() - f32[-10:].mean()) <= 0.1 * f32[-10:].mean()


def test_train_step_makes_no_implicit_transfer(tiny_data_dir):
  state, step, sampler, device = _one_device_run(tiny_config(tiny_data_dir))
  state, _ = step(state, sampler.batch(0))            # compile outside
  batch = jax.device_put(sampler.batch(1), device)
  with jax.transfer_guard("disallow"):
    state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
  # A numpy batch is an implicit host-to-device copy: the guard sees it.
  with pytest.raises(Exception, match="(?i)transfer"):
    with jax.transfer_guard("disallow"):
      step(state, sampler.batch(2))
