"""Tests of gaitjax/models/baselines.py (tiny shapes: T=40, few speeds)."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs.baselines import mlp as mlp_config
from configs.baselines import tcn as tcn_config
from gaitjax.errors import ConfigError
from gaitjax.models import baselines
from gaitjax.train import tasks

T, F = 40, 6
SOURCES = (0.55, 1.05, 1.55)
TARGETS = (0.5, 0.8, 1.1, 1.4, 1.7)


def _mlp(**kw):
  return baselines.MLPBaseline(source_speeds=SOURCES, target_speeds=TARGETS,
                               seq_len=T, hidden=8, time_stride=2, **kw)


def _tcn(**kw):
  return baselines.TCNBaseline(source_speeds=SOURCES, channels=8,
                               kernel_size=3, dilations=(1, 2, 4),
                               speed_hidden=8, **kw)


def _batch(b=4, seed=0, v_src=None, v_tgt=None):
  rng = np.random.default_rng(seed)
  return dict(
      x_src=jnp.asarray(rng.normal(size=(b, T, F)), jnp.float32),
      x_tgt=jnp.asarray(rng.normal(size=(b, T, F)), jnp.float32),
      x_ref=jnp.asarray(rng.normal(size=(b, T, F)), jnp.float32),
      v_src=jnp.asarray(rng.choice(SOURCES, b) if v_src is None else v_src,
                        jnp.float32),
      v_tgt=jnp.asarray(rng.choice(TARGETS, b) if v_tgt is None else v_tgt,
                        jnp.float32),
      subject=jnp.arange(b, dtype=jnp.int32))


def _tiny_config(name):
  config = (mlp_config if name == "mlp" else tcn_config).get_config()
  config.data.seq_len = T
  config.data.source_speeds = SOURCES
  config.eval.baseline_source_speeds = SOURCES
  if name == "mlp":
    config.model.target_speeds = TARGETS
    config.model.mlp_hidden = 8
  else:
    config.model.tcn_channels = 8
    config.model.tcn_kernel_size = 3
    config.model.tcn_dilations = (1, 2, 4)
    config.model.speed_hidden = 8
  return config


def test_nearest_index_ties_go_low_and_off_grid_snaps():
  grid = (0.55, 0.80, 1.05)
  speeds = jnp.array([0.55, 0.60, 0.70, 0.92, 0.93, 1.04, 2.0, 0.1])
  np.testing.assert_array_equal(baselines.nearest_index(speeds, grid),
                                [0, 0, 1, 1, 2, 2, 2, 0])
  # Midpoints go to the lower speed [P III.C], despite float error.
  np.testing.assert_array_equal(
      baselines.nearest_index(jnp.array([0.675, 0.925]), grid), [0, 1])
  assert baselines.nearest_index(speeds, grid).dtype == jnp.int32


@pytest.mark.parametrize("make", [_mlp, _tcn])
def test_output_shape_and_dtype(make):
  batch = _batch()
  model = make()
  params = jax.jit(model.init)(jax.random.PRNGKey(0), batch["x_src"],
                               batch["v_src"], batch["v_tgt"])
  y = jax.jit(model.apply)(params, batch["x_src"], batch["v_src"],
                           batch["v_tgt"])
  assert y.shape == (4, T, F) and y.dtype == jnp.float32
  assert bool(jnp.all(jnp.isfinite(y)))


def test_mlp_bank_shapes_and_pairs_are_independent():
  model = _mlp()
  # Every example is pair (source 1.05 -> idx 1, target 1.4 -> idx 3), one
  # speed given off-grid to check the gather snaps to it.
  batch = _batch(v_src=[1.05, 1.02, 1.05, 1.10], v_tgt=[1.4, 1.4, 1.38, 1.4])
  params = model.init(jax.random.PRNGKey(0), batch["x_src"], batch["v_src"],
                      batch["v_tgt"])["params"]
  assert params["w1"].shape == (3, 5, (T // 2) * F, 8)
  assert params["w2"].shape == (3, 5, 8, (T // 2) * F)

  def loss(p):
    y = model.apply({"params": p}, batch["x_src"], batch["v_src"],
                    batch["v_tgt"])
    return jnp.mean((y - batch["x_tgt"])**2)

  grads = jax.grad(loss)(params)
  for name, g in grads.items():
    g = np.asarray(g)
    assert np.abs(g[1, 3]).sum() > 0, name
    other = g.copy()
    other[1, 3] = 0
    assert not other.any(), f"{name}: gradient leaked to another pair"

  # Changing another pair's parameters does not change this pair's output.
  moved = jax.tree.map(lambda p: p.at[0, 0].add(1.0).at[1, 4].add(1.0),
                       params)
  np.testing.assert_array_equal(
      model.apply({"params": params}, batch["x_src"], batch["v_src"],
                  batch["v_tgt"]),
      model.apply({"params": moved}, batch["x_src"], batch["v_src"],
                  batch["v_tgt"]))


def test_tcn_is_conditioned_on_target_speed_and_gathers_by_source():
  model = _tcn()
  batch = _batch(b=2, v_src=[0.55, 0.55], v_tgt=[0.6, 0.6])
  x = jnp.broadcast_to(batch["x_src"][:1], (2, T, F))
  params = model.init(jax.random.PRNGKey(0), x, batch["v_src"],
                      batch["v_tgt"])["params"]
  assert params["conv_w"].shape == (3, 3, 3, 8, 8)
  jit_apply = jax.jit(model.apply)
  apply = lambda vs, vt: jit_apply(  # noqa: E731
      {"params": params}, x, jnp.array(vs), jnp.array(vt))
  y = apply([0.55, 0.55], [0.6, 1.6])
  assert float(jnp.max(jnp.abs(y[0] - y[1]))) > 1e-4
  # 0.60 snaps to the 0.55 network; 1.50 uses another one.
  y_same = apply([0.55, 0.60], [1.0, 1.0])
  np.testing.assert_allclose(y_same[0], y_same[1], atol=1e-6)
  y_diff = apply([0.55, 1.50], [1.0, 1.0])
  assert float(jnp.max(jnp.abs(y_diff[0] - y_diff[1]))) > 1e-4
  # Only the selected source's TCN gets gradient.
  grads = jax.jit(jax.grad(lambda p: jnp.sum(jit_apply(
      {"params": p}, x, batch["v_src"], batch["v_tgt"])**2)))(params)
  for name, g in grads.items():
    assert not np.asarray(g)[1:].any(), name


@pytest.mark.parametrize("name", ["mlp", "tcn"])
def test_adamw_mse_steps_reduce_loss_on_a_tiny_mapping(name):
  task = tasks.make_baseline_task(_tiny_config(name))
  # Synthetic mapping: target = shifted, scaled source; fixed pair speeds.
  rng = np.random.default_rng(1)
  t = np.arange(T) / 20.0
  phase = rng.uniform(0, 2 * np.pi, size=(16, 1, 1))
  x_src = np.sin(2 * np.pi * t[None, :, None] + phase + np.arange(F))
  batch = dict(
      x_src=jnp.asarray(x_src, jnp.float32),
      x_tgt=jnp.asarray(0.8 * np.roll(x_src, 3, axis=1) + 0.2, jnp.float32),
      v_src=jnp.full((16,), 1.05), v_tgt=jnp.full((16,), 1.4))
  params = task.init_params(jax.random.PRNGKey(0), batch)
  opt = optax.adamw(3e-3, weight_decay=1e-3)
  state = opt.init(params)

  @jax.jit
  def step(params, state):
    (loss, _), g = jax.value_and_grad(task.loss_fn, has_aux=True)(
        params, batch, jax.random.PRNGKey(0), train=True)
    updates, state = opt.update(g, state, params)
    return optax.apply_updates(params, updates), state, loss

  losses = []
  for _ in range(60):
    params, state, loss = step(params, state)
    losses.append(float(loss))
  assert np.isfinite(losses).all()
  assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("name", ["mlp", "tcn"])
def test_make_task_contract(name):
  task = tasks.make_baseline_task(_tiny_config(name))
  batch = _batch()
  params = task.init_params(jax.random.PRNGKey(0), batch)
  loss, metrics = jax.jit(lambda p, b: task.loss_fn(
      p, b, jax.random.PRNGKey(1), train=False))(params, batch)
  assert loss.shape == () and np.isfinite(float(loss))
  assert set(metrics) >= {"loss", "mse"}
  assert all(m.shape == () for m in metrics.values())
  pred = task.predict_fn(params, batch, jax.random.PRNGKey(2))
  assert pred.shape == (4, T, F) and pred.dtype == jnp.float32
  np.testing.assert_allclose(float(loss),
                             float(jnp.mean((pred - batch["x_tgt"])**2)),
                             rtol=1e-5)


def test_configured_sizes():
  assert baselines.param_count(mlp_config.get_config()) < 40_000_000
  assert baselines.param_count(tcn_config.get_config()) < 2_000_000
  for mod in (mlp_config, tcn_config):
    config = mod.get_config()
    assert tuple(config.data.source_speeds) == baselines.FIXED_SOURCE_SPEEDS
    assert config.data.reference == "source"
    assert sum(config.data.pair_fractions) == pytest.approx(1.0)


def test_config_errors_name_the_field():
  config = _tiny_config("mlp")
  config.data.source_speeds = (0.55, 0.9)
  with pytest.raises(ConfigError, match="data.source_speeds"):
    tasks.make_baseline_task(config)
  config = _tiny_config("mlp")
  config.model.target_speeds = (1.0, 0.5)
  with pytest.raises(ConfigError, match="model.target_speeds"):
    tasks.make_baseline_task(config)
  config = _tiny_config("mlp")
  config.model.name = "diffusion"
  with pytest.raises(ConfigError, match="model.name"):
    baselines.build_model(config)
  bad = ml_collections.ConfigDict(_tiny_config("mlp").to_dict())
  bad.model.mlp_time_stride = 3
  task = tasks.make_baseline_task(bad)
  with pytest.raises(ConfigError, match="mlp_time_stride"):
    task.init_params(jax.random.PRNGKey(0), _batch())
