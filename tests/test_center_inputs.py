"""Offset-free inputs (model.center_inputs): a constant per-channel offset on
the source moves the generated output by exactly that offset (issue 11.3)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import tiny_config
from gaitjax.generate import Generator
from gaitjax.models import GaitDiffusionModel
from gaitjax.train import loop

B, T, F = 2, 40, 6
TINY = dict(width=32, num_layers=2, num_heads=2, mlp_dim=64, dropout=0.0,
            cond_dim=16, time_embed_dim=32, subject_embed_dim=8,
            lstm_hidden=8, speed_hidden=16, patch_size=4, lstm_patch_size=4)
OFFSET = jnp.array([12.0, -7.0, 3.0, -15.0, 9.0, 0.5])


def _outputs(center: bool, offset):
  model = GaitDiffusionModel(**TINY, center_inputs=center)
  k = jax.random.split(jax.random.key(0), 3)
  r_t = jax.random.normal(k[0], (B, T, F))
  x_cond = jax.random.normal(k[1], (B, T, F))
  x_src = jax.random.normal(k[2], (B, T, F))
  v_src, v_tgt = jnp.array([0.6, 1.2]), jnp.array([1.0, 0.8])
  t = jnp.array([10, 700], jnp.int32)
  params = jax.jit(lambda key: model.init(
      key, r_t, x_cond, x_src, v_src, v_tgt, t, train=False))(
          jax.random.key(1))
  apply = jax.jit(lambda xc, xs: model.apply(
      params, r_t, xc, xs, v_src, v_tgt, t, train=False))
  return apply(x_cond, x_src), apply(x_cond + offset, x_src + offset)


def test_centered_model_ignores_input_offsets():
  plain, shifted = _outputs(True, OFFSET)
  np.testing.assert_allclose(plain, shifted, atol=1e-4)


def test_uncentered_model_sees_input_offsets():
  # The same check must fail without centering: the test can tell.
  plain, shifted = _outputs(False, OFFSET)
  assert float(jnp.max(jnp.abs(plain - shifted))) > 1e-2


@pytest.fixture(scope="module")
def centered_checkpoint(tiny_data_dir, tmp_path_factory):
  config = tiny_config(tiny_data_dir)
  config.model.center_inputs = True
  workdir = tmp_path_factory.mktemp("centered_run")
  loop.train_and_evaluate(config, str(workdir))
  return workdir


def test_generated_output_moves_by_the_source_offset(centered_checkpoint,
                                                     tiny_data_dir):
  from gaitjax.data import dataset as dataset_lib
  test_set = dataset_lib.load_split(tiny_data_dir, "synthetic_able_bodied",
                                    "test")
  gen = Generator(str(centered_checkpoint), num_steps=3, eta=0.0)
  x = test_set.x[:1]
  offset = np.array([15.0, -15.0, 8.0, -4.0, 0.0, 11.0], np.float32)
  a = gen.generate(x, test_set.speed[:1], [0.8, 1.2], num_samples=2, seed=0)
  b = gen.generate(x + offset, test_set.speed[:1], [0.8, 1.2],
                   num_samples=2, seed=0)
  shift = b.mean - a.mean                               # [1, 2, T, 6]
  np.testing.assert_allclose(shift, np.broadcast_to(offset, shift.shape),
                             atol=1e-2)
