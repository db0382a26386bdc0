"""Variance-preserving (VP) noise schedules and the diffusion algebra.

Notation (paper II.D.3, eq. 6): a clean sample ``x0`` (the residual r0) is
noised as ``z_t = alpha_t * x0 + sigma_t * eps`` with ``alpha_t^2 +
sigma_t^2 = 1``. Discrete steps are indexed ``t = 0 .. N-1``; index ``t``
is DDPM's step ``t + 1``, so ``t = 0`` is the least noisy step and
``t = N-1`` (almost) pure noise. The "clean" level (alpha = 1, sigma = 0)
has no index: the sampler's last update jumps to it.

Schedules:
  * 'linear' (Ho et al. 2020, DDPM, which the paper cites for its "standard
    variance-preserving ... 1,000-step noise schedule"; GaitDynamics uses it
    too): betas linspace(1e-4, 0.02, N) for N = 1000, scaled by 1000 / N for
    other N so the curve keeps its shape (as in improved-diffusion). The
    config default (configs/default.py). alpha_bar < 1e-3 from t = 825 on,
    i.e. over its last 17.5 % of steps; alpha at t = 999 is 6.4e-3.
  * 'cosine' (Nichol & Dhariwal 2021, "Improved DDPM", eq. 17):
    alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/N + s)/(1 + s)) * pi/2),
    s = 0.008, turned into betas clipped at 0.999 (their clipping, which
    keeps the last step finite) and cumulated back. It spreads log-SNR
    almost linearly over the steps (alpha_bar < 1e-3 only over the last
    2.1 %), but its last step has alpha = 4.9e-5 (configs/variants/
    cosine_schedule.py; used by configs/cpu_small.py).

Caveat for eps-prediction: x0 = (z - sigma*eps)/alpha amplifies the eps
error by sigma/alpha: ~160 at the linear schedule's last step, ~2e4 at the
cosine one's. With the cosine schedule the DDIM sampler must therefore not
start at t = N-1 (sampling.ddim_timesteps' 'leading' spacing starts at
N - N/S, alpha 0.014 for S = 100), and an unweighted clean-residual loss
term is dominated by its noisiest steps (losses.LossConfig.x0_weighting).
v-prediction has no such division (x0 = alpha*z - sigma*v).
"""
import math
from typing import Tuple

import chex
import flax
import jax.numpy as jnp
import numpy as np

from gaitjax.errors import ConfigError

Array = jnp.ndarray

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v", "x0")


@flax.struct.dataclass
class VPSchedule:
  """Per-step signal and noise scales of a VP process (a pytree).

  Attributes:
    alphas: [N] sqrt(alpha_bar_t), decreasing from ~1 to ~0.
    sigmas: [N] sqrt(1 - alpha_bar_t), increasing from ~0 to ~1.
  """
  alphas: Array  # [N]
  sigmas: Array  # [N]

  @property
  def num_timesteps(self) -> int:
    return self.alphas.shape[0]


def _cosine_alpha_bar(num_timesteps: int, s: float = 0.008,
                      max_beta: float = 0.999) -> np.ndarray:
  """alpha_bar_t for t = 1..N of Nichol & Dhariwal's cosine schedule."""
  def f(t):
    return math.cos((t / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2
  betas = np.array([min(1 - f(i + 1) / f(i), max_beta)
                    for i in range(num_timesteps)], dtype=np.float64)
  return np.cumprod(1.0 - betas)


def _linear_alpha_bar(num_timesteps: int) -> np.ndarray:
  """alpha_bar_t for t = 1..N of DDPM's linear betas (1e-4..0.02 at N=1000)."""
  scale = 1000.0 / num_timesteps
  betas = np.linspace(scale * 1e-4, scale * 0.02, num_timesteps,
                      dtype=np.float64)
  return np.cumprod(1.0 - np.minimum(betas, 0.999))


def make_schedule(name: str = "linear",
                  num_timesteps: int = 1000) -> VPSchedule:
  """The VP schedule `name` ('linear' | 'cosine') with N discrete steps."""
  if name not in SCHEDULES:
    raise ConfigError(f"config.diffusion.schedule must be one of {SCHEDULES},"
                      f" got {name!r}")
  if not isinstance(num_timesteps, (int, np.integer)) or num_timesteps < 2:
    raise ConfigError("config.diffusion.num_timesteps must be an integer >= 2,"
                      f" got {num_timesteps!r}")
  num_timesteps = int(num_timesteps)
  if name == "cosine":
    alpha_bar = _cosine_alpha_bar(num_timesteps)
  else:
    alpha_bar = _linear_alpha_bar(num_timesteps)
  return VPSchedule(alphas=jnp.asarray(np.sqrt(alpha_bar), jnp.float32),
                    sigmas=jnp.asarray(np.sqrt(1.0 - alpha_bar), jnp.float32))


def schedule_from_config(diffusion_cfg) -> VPSchedule:
  """make_schedule from config.diffusion (fields schedule, num_timesteps)."""
  return make_schedule(diffusion_cfg.schedule, diffusion_cfg.num_timesteps)


def gather(schedule: VPSchedule, t: Array,
           ndim: int = 3) -> Tuple[Array, Array]:
  """(alpha_t, sigma_t) for integer steps t [B], shaped [B, 1, ...] to ndim."""
  chex.assert_rank(t, 1)
  shape = (t.shape[0],) + (1,) * (ndim - 1)
  return (schedule.alphas[t].reshape(shape),
          schedule.sigmas[t].reshape(shape))


# One-line algebra. alpha, sigma broadcast against the arrays ([B, 1, 1]).

def q_sample(x0: Array, eps: Array, alpha: Array, sigma: Array) -> Array:
  """z = alpha * x0 + sigma * eps  (paper eq. 6)."""
  return alpha * x0 + sigma * eps


def x0_from_eps(z: Array, eps: Array, alpha: Array, sigma: Array) -> Array:
  """x0 = (z - sigma * eps) / alpha."""
  return (z - sigma * eps) / alpha


def eps_from_x0(z: Array, x0: Array, alpha: Array, sigma: Array) -> Array:
  """eps = (z - alpha * x0) / sigma."""
  return (z - alpha * x0) / sigma


def v_from(x0: Array, eps: Array, alpha: Array, sigma: Array) -> Array:
  """v = alpha * eps - sigma * x0  (Salimans & Ho 2022)."""
  return alpha * eps - sigma * x0


def x0_from_v(z: Array, v: Array, alpha: Array, sigma: Array) -> Array:
  """x0 = alpha * z - sigma * v  (uses alpha^2 + sigma^2 = 1)."""
  return alpha * z - sigma * v


def eps_from_v(z: Array, v: Array, alpha: Array, sigma: Array) -> Array:
  """eps = sigma * z + alpha * v  (uses alpha^2 + sigma^2 = 1)."""
  return sigma * z + alpha * v


def target_for(x0: Array, eps: Array, alpha: Array, sigma: Array,
               prediction: str) -> Array:
  """What the network regresses: eps, v = alpha*eps - sigma*x0, or x0."""
  if prediction == "eps":
    return eps
  if prediction == "v":
    return v_from(x0, eps, alpha, sigma)
  if prediction == "x0":
    return x0
  raise ConfigError(f"config.diffusion.prediction must be one of "
                    f"{PREDICTIONS}, got {prediction!r}")


def predictions_to_x0_eps(pred: Array, z: Array, alpha: Array, sigma: Array,
                          target: str) -> Tuple[Array, Array]:
  """(x0_hat, eps_hat) from a network output predicting `target`.

  'eps': x0 = (z - sigma*eps)/alpha. 'v': x0 = alpha*z - sigma*v,
  eps = sigma*z + alpha*v. 'x0': eps = (z - alpha*x0)/sigma.
  """
  if target == "eps":
    return x0_from_eps(z, pred, alpha, sigma), pred
  if target == "v":
    return x0_from_v(z, pred, alpha, sigma), eps_from_v(z, pred, alpha, sigma)
  if target == "x0":
    return pred, eps_from_x0(z, pred, alpha, sigma)
  raise ConfigError(f"config.diffusion.prediction must be one of "
                    f"{PREDICTIONS}, got {target!r}")
