"""Tests of gaitjax.diffusion.schedule: VP schedules and the algebra."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError


@pytest.mark.parametrize("name", ["cosine", "linear"])
def test_variance_preserving_monotone_endpoints(name):
  s = sched.make_schedule(name, 1000)
  a, sg = np.asarray(s.alphas, np.float64), np.asarray(s.sigmas, np.float64)
  assert s.num_timesteps == 1000 and a.shape == sg.shape == (1000,)
  np.testing.assert_allclose(a ** 2 + sg ** 2, 1.0, atol=1e-6)
  assert np.all(np.diff(a) < 0) and np.all(np.diff(sg) > 0)
  assert a[0] > 0.9999 and sg[0] < 0.012          # almost clean
  assert a[-1] < 0.01 and sg[-1] > 0.9999         # almost pure noise


def test_cosine_and_linear_match_their_formulas():
  s = 0.008
  f = lambda t: math.cos((t / 1000 + s) / (1 + s) * math.pi / 2) ** 2
  cos = sched.make_schedule("cosine", 1000)
  for t in (0, 250, 500, 900):  # before the beta clipping bites
    np.testing.assert_allclose(float(cos.alphas[t]) ** 2, f(t + 1) / f(0),
                               rtol=1e-4)
  lin = sched.make_schedule("linear", 1000)
  betas = np.linspace(1e-4, 0.02, 1000)
  np.testing.assert_allclose(np.asarray(lin.alphas) ** 2,
                             np.cumprod(1 - betas), rtol=1e-5)


def test_bad_names_raise_config_error():
  with pytest.raises(ConfigError, match="schedule"):
    sched.make_schedule("quadratic")
  with pytest.raises(ConfigError, match="num_timesteps"):
    sched.make_schedule("cosine", 1)
  with pytest.raises(ConfigError, match="prediction"):
    sched.predictions_to_x0_eps(jnp.zeros(3), jnp.zeros(3), 1.0, 0.0, "mu")


def test_conversions_invert_each_other():
  k1, k2 = jax.random.split(jax.random.key(0))
  x0 = jax.random.normal(k1, (4, 10, 6))
  eps = jax.random.normal(k2, (4, 10, 6))
  s = sched.make_schedule("cosine", 1000)
  alpha, sigma = sched.gather(s, jnp.array([0, 100, 500, 950]))
  assert alpha.shape == (4, 1, 1)
  z = sched.q_sample(x0, eps, alpha, sigma)
  np.testing.assert_allclose(z, alpha * x0 + sigma * eps, rtol=1e-6)
  tol = dict(rtol=1e-3, atol=1e-3)
  np.testing.assert_allclose(sched.x0_from_eps(z, eps, alpha, sigma), x0,
                             **tol)
  np.testing.assert_allclose(sched.eps_from_x0(z, x0, alpha, sigma), eps,
                             **tol)
  v = sched.v_from(x0, eps, alpha, sigma)
  np.testing.assert_allclose(sched.x0_from_v(z, v, alpha, sigma), x0, **tol)
  np.testing.assert_allclose(sched.eps_from_v(z, v, alpha, sigma), eps, **tol)
  for target in sched.PREDICTIONS:
    pred = sched.target_for(x0, eps, alpha, sigma, target)
    x0_hat, eps_hat = sched.predictions_to_x0_eps(pred, z, alpha, sigma,
                                                  target)
    np.testing.assert_allclose(x0_hat, x0, **tol)
    np.testing.assert_allclose(eps_hat, eps, **tol)
  # The targets really differ (the loop above cannot pass by accident).
  assert not np.allclose(sched.target_for(x0, eps, alpha, sigma, "v"), eps)


def test_linear_is_the_default_and_the_docstring_numbers_hold():
  assert sched.SCHEDULES[0] == "linear"
  lin = np.asarray(sched.make_schedule().alphas, np.float64)
  cos = np.asarray(sched.make_schedule("cosine").alphas, np.float64)
  np.testing.assert_array_equal(lin, np.asarray(
      sched.make_schedule("linear", 1000).alphas))
  # Linear: alpha_bar < 1e-3 from t = 825 on (the last 17.5 %, not ~30 %).
  first = int(np.argmax(lin ** 2 < 1e-3))
  assert first == 825 and np.all(lin[first:] ** 2 < 1e-3)
  assert lin[999] == pytest.approx(6.35e-3, rel=1e-2)
  # Cosine: only the last 2.1 %, but alpha = 4.9e-5 at t = 999, and
  # sigma/alpha ~ 70 at t = 990 (the f32-head argument in denoiser.py).
  assert int(np.argmax(cos ** 2 < 1e-3)) == 979
  assert cos[999] == pytest.approx(4.93e-5, rel=1e-2)
  assert math.sqrt(1 - cos[990] ** 2) / cos[990] == pytest.approx(71, abs=1)
