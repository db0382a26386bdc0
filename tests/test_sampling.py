"""Tests of gaitjax.diffusion.sampling: DDIM maths, scan == loop, rngs."""
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from gaitjax.diffusion import sampling
from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError
from gaitjax.models import GaitDiffusionModel

B, T, F = 3, 40, 6
SCHEDULE = sched.make_schedule("cosine", 1000)


def test_timesteps_evenly_spaced_descending():
  ts = sampling.ddim_timesteps(1000, 100)
  assert len(ts) == 100 and ts[0] == 990 and ts[-1] == 0
  assert np.all(np.diff(ts) == -10)
  ts = sampling.ddim_timesteps(1000, 7)
  assert len(np.unique(ts)) == 7 and np.all(np.diff(ts) < 0) and ts[-1] == 0
  np.testing.assert_array_equal(sampling.ddim_timesteps(10, 10),
                                np.arange(9, -1, -1))


def test_trailing_spacing_starts_at_the_last_step():
  ts = sampling.ddim_timesteps(1000, 100, "trailing")
  assert len(ts) == 100 and ts[0] == 999 and ts[-1] == 9
  assert np.all(np.diff(ts) == -10)
  ts = sampling.ddim_timesteps(1000, 7, "trailing")
  assert ts[0] == 999 and len(np.unique(ts)) == 7 and np.all(np.diff(ts) < 0)
  np.testing.assert_array_equal(sampling.ddim_timesteps(10, 10, "trailing"),
                                sampling.ddim_timesteps(10, 10, "leading"))
  with pytest.raises(ConfigError, match="timestep_spacing"):
    sampling.ddim_timesteps(1000, 10, "middle")


def test_default_config_samples_from_t_999_and_cpu_small_from_980():
  from configs import cpu_small, default
  from configs.variants import cosine_schedule
  for get, first in ((default.get_config, 999),
                     (cosine_schedule.get_config, 990),
                     (cpu_small.get_config, 980)):
    c = get()
    ts = sampling.ddim_timesteps(c.diffusion.num_timesteps,
                                 c.sampling.num_steps,
                                 c.sampling.timestep_spacing)
    assert ts[0] == first, (get, ts[:3])


def _coefficients(num_steps):
  ts = sampling.ddim_timesteps(1000, num_steps)
  a = np.asarray(SCHEDULE.alphas, np.float64)
  s = np.asarray(SCHEDULE.sigmas, np.float64)
  a_prev = np.append(a[ts[1:]], 1.0)
  s_prev = np.append(s[ts[1:]], 0.0)
  return a[ts], s[ts], a_prev, s_prev


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
def test_oracle_deterministic_ddim_recovers_the_data_point(prediction):
  # For data = one point x*, the exact network output is known in closed
  # form; deterministic DDIM must then land on x* from any start.
  x_star = np.linspace(-1, 1, 12).reshape(2, 1, 6).astype(np.float64)
  z = np.random.default_rng(0).normal(size=(2, 5, 6))
  for a, s, ap, sp in zip(*_coefficients(20)):
    eps = (z - a * x_star) / s
    pred = {"eps": eps, "v": a * eps - s * x_star,
            "x0": x_star + 0 * z}[prediction]
    z = np.asarray(sampling._ddim_update(pred, z, a, s, ap, sp, None, eta=0.0,
                                         prediction=prediction, clip_x0=None))
  np.testing.assert_allclose(z, np.broadcast_to(x_star, z.shape), atol=1e-6)


def test_eta_one_noise_is_the_ddpm_posterior_std():
  a, s, ap, sp = (c[3] for c in _coefficients(10))
  ab, ab_prev = a ** 2, ap ** 2
  want = np.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
  z = np.ones((1, 2, 6))
  kw = dict(eta=1.0, prediction="x0", clip_x0=None)
  zero = np.zeros_like(z)
  with_noise = sampling._ddim_update(zero, z, a, s, ap, sp, np.ones_like(z),
                                     **kw)
  without = sampling._ddim_update(zero, z, a, s, ap, sp, None, **kw)
  np.testing.assert_allclose(with_noise - without, want, rtol=1e-6)
  # Deterministic part: x0 = 0, so z_prev = sqrt(sp^2 - std^2) * eps,
  # eps = z / s.
  np.testing.assert_allclose(without, np.sqrt(sp ** 2 - want ** 2) / s * z,
                             rtol=1e-6)


def test_num_steps_and_options_are_validated():
  x, v = jnp.zeros((1, T, F)), jnp.ones((1,))
  for bad in (0, 1001, 2.5):
    with pytest.raises(ConfigError, match="num_steps"):
      sampling.ddim_sample({}, None, SCHEDULE, x, x, v, v,
                           jax.random.key(0), num_steps=bad)
  with pytest.raises(ConfigError, match="eta"):
    sampling.ddim_sample({}, None, SCHEDULE, x, x, v, v, jax.random.key(0),
                         num_steps=10, eta=-1.0)
  with pytest.raises(ConfigError, match="prediction"):
    sampling.ddim_sample({}, None, SCHEDULE, x, x, v, v, jax.random.key(0),
                         num_steps=10, prediction="score")


@pytest.fixture(scope="module")
def tiny():
  model = GaitDiffusionModel(width=32, num_layers=2, num_heads=2, mlp_dim=64,
                             dropout=0.0, patch_size=4, cond_dim=16,
                             time_embed_dim=32, subject_embed_dim=8,
                             lstm_hidden=8, lstm_patch_size=4,
                             speed_hidden=16)
  rng = np.random.default_rng(0)
  x_src = jnp.asarray(rng.normal(size=(B, T, F)), jnp.float32)
  v_src = jnp.array([0.5, 1.0, 1.5])
  v_tgt = jnp.array([1.2, 1.0, 0.7])
  params = jax.jit(lambda key: model.init(
      key, x_src, x_src, x_src, v_src, v_tgt, jnp.zeros((B,), jnp.int32),
      train=False)["params"])(jax.random.key(1))
  # Random (not zero) FiLM weights so the conditioning matters here.
  params = jax.tree.map(
      lambda l: l + 0.05 * rng.normal(size=l.shape).astype(np.float32),
      params)
  return model, params, x_src, v_src, v_tgt


# The two sampler programs the tests compile (kept few: compiling dominates).
DETERMINISTIC = dict(num_steps=5, eta=0.0, prediction="v")
STOCHASTIC = dict(num_steps=5, eta=0.5, prediction="eps")


def _noise(seed):
  return jnp.asarray(np.random.default_rng(seed).normal(size=(B, T, F)),
                     jnp.float32)


@pytest.mark.parametrize("kw", [DETERMINISTIC, STOCHASTIC])
def test_scan_equals_python_loop(tiny, kw):
  model, params, x_src, v_src, v_tgt = tiny
  x_ref = x_src[::-1]
  noise = _noise(0) if kw["eta"] == 0 else None
  rng = jax.random.key(7)
  scan = sampling.ddim_sample(params, model, SCHEDULE, x_src, x_ref, v_src,
                              v_tgt, rng, init_noise=noise, **kw)
  loop = sampling.ddim_sample_loop_reference(
      params, model, SCHEDULE, x_src, x_ref, v_src, v_tgt, rng,
      init_noise=noise, **kw)
  assert scan.shape == (B, T, F) and scan.dtype == jnp.float32
  assert np.all(np.isfinite(scan))
  scale = float(jnp.max(jnp.abs(loop)))
  np.testing.assert_allclose(scan, loop, atol=1e-5 * max(scale, 1.0))


def test_determinism_and_seeds(tiny):
  model, params, x_src, v_src, v_tgt = tiny
  def run(seed, kw, noise=None):
    return sampling.ddim_sample(params, model, SCHEDULE, x_src, x_src, v_src,
                                v_tgt, jax.random.key(seed),
                                init_noise=noise, **kw)
  # eta = 0: the start noise fixes the result; the rng is then irrelevant.
  np.testing.assert_array_equal(run(0, DETERMINISTIC, _noise(1)),
                                run(1, DETERMINISTIC, _noise(1)))
  assert np.max(np.abs(run(0, DETERMINISTIC, _noise(1))
                       - run(0, DETERMINISTIC, _noise(2)))) > 1e-3
  # eta > 0: same seed, same samples; another seed, other samples.
  np.testing.assert_array_equal(run(3, STOCHASTIC), run(3, STOCHASTIC))
  assert np.max(np.abs(run(3, STOCHASTIC) - run(4, STOCHASTIC))) > 1e-3


def test_sample_x_tgt_adds_the_reference(tiny):
  model, params, x_src, v_src, v_tgt = tiny
  rng, noise = jax.random.key(5), _noise(3)
  args = (params, model, SCHEDULE, x_src, x_src, v_src, v_tgt, rng)
  r0 = sampling.ddim_sample(*args, init_noise=noise, **DETERMINISTIC)
  x = sampling.sample_x_tgt(*args, residual=True, init_noise=noise,
                            **DETERMINISTIC)
  np.testing.assert_allclose(x, x_src + r0, rtol=1e-6, atol=1e-6)
  x0 = sampling.sample_x_tgt(*args, residual=False, init_noise=noise,
                             **DETERMINISTIC)
  np.testing.assert_array_equal(x0, r0)


def _primitives(jaxpr, out):
  for eqn in jaxpr.eqns:
    out.append((eqn.primitive.name, eqn))
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      _primitives(sub, out)
  return out


def test_encoder_runs_once_outside_the_scan(tiny):
  model, params, x_src, v_src, v_tgt = tiny
  num_steps = 6
  jaxpr = jax.make_jaxpr(lambda p: sampling.ddim_sample(
      p, model, SCHEDULE, x_src, x_src, v_src, v_tgt, jax.random.key(0),
      num_steps=num_steps, prediction="v"))(params)
  scans = [e for name, e in _primitives(jaxpr.jaxpr, []) if name == "scan"]
  # The BiLSTM's two recurrences (length T / lstm_patch) and the DDIM
  # trajectory (length num_steps), which must contain no recurrence.
  lengths = sorted(e.params["length"] for e in scans)
  assert lengths == sorted([num_steps, T // 4, T // 4]), lengths
  trajectory = [e for e in scans if e.params["length"] == num_steps][0]
  inner = _primitives(trajectory.params["jaxpr"].jaxpr, [])
  assert not any(name in ("scan", "while") for name, _ in inner)
  assert any(name == "dot_general" for name, _ in inner)  # it denoises


def test_request_path_equals_rows_with_repeated_sources(tiny):
  # Issue 13: K samples x S speeds of shared sources in one scan, each
  # source's BiLSTM run once, equals the row-wise sampler to f32 rounding.
  model, params, x_src, v_src, v_tgt = tiny
  source_index = jnp.array([0, 0, 2, 2, 1, 0], jnp.int32)
  rows = source_index.shape[0]
  v_rows = jnp.array([0.6, 1.4, 0.9, 0.9, 1.2, 0.6])
  x_ref = jnp.concatenate([x_src, x_src[::-1]])
  noise = jnp.asarray(np.random.default_rng(4).normal(size=(rows, T, F)),
                      jnp.float32)
  noise = noise.at[3].set(noise[2])   # x_ref[3] == x_ref[2] too
  rng = jax.random.key(9)
  got = sampling.ddim_sample_request(
      params, model, SCHEDULE, x_src, x_ref, v_src, v_rows, source_index,
      rng, init_noise=noise, **DETERMINISTIC)
  want = sampling.ddim_sample(
      params, model, SCHEDULE, x_src[source_index], x_ref,
      v_src[source_index], v_rows, rng, init_noise=noise, **DETERMINISTIC)
  assert got.shape == (rows, T, F)
  np.testing.assert_allclose(got, want, rtol=1e-5,
                             atol=1e-5 * float(jnp.max(jnp.abs(want))))
  # Rows 2 and 3 share source, speed and noise: equal; the encoder mattered.
  np.testing.assert_array_equal(got[2], got[3])
  other = sampling.ddim_sample_request(
      params, model, SCHEDULE, x_src, x_ref, v_src, v_rows,
      jnp.zeros_like(source_index), rng, init_noise=noise, **DETERMINISTIC)
  assert float(jnp.max(jnp.abs(other[2] - got[2]))) > 1e-4
  # The BiLSTM ran on the N distinct sources, not on the R rows.
  jaxpr = jax.make_jaxpr(lambda p: sampling.ddim_sample_request(
      p, model, SCHEDULE, x_src, x_ref, v_src, v_rows, source_index, rng,
      init_noise=noise, **DETERMINISTIC))(params)
  lstm_batches = {e.params["jaxpr"].in_avals[-1].shape[0]
                  for name, e in _primitives(jaxpr.jaxpr, [])
                  if name == "scan" and e.params["length"] == T // 4}
  assert lstm_batches == {B}, lstm_batches
