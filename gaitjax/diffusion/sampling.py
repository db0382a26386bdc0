"""DDIM sampling of the residual (paper II.E; Song, Meng & Ermon 2021).

The paper samples r0 from Gaussian noise with 100 DDIM steps conditioned on
x_src, v_src and v_tgt, then reconstructs x_tgt = x_src + r0 (eq. 2). Here
the conditioning sequence is x_ref (= x_src for the paper's 'source'
reference) and x_tgt = x_ref + r0.

The whole trajectory is one ``jax.lax.scan`` inside one ``jit``; the
subject/speed conditioning (the BiLSTM) does not depend on the step and is
computed once before the scan, so each step is one ``model.denoise`` call.
``ddim_sample_request`` does the same for rows that share sources (K samples
x several target speeds of one recording): the BiLSTM runs once per source.
"""
import functools
from typing import Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError

Array = jnp.ndarray


SPACINGS = ("trailing", "leading")


def ddim_timesteps(num_timesteps: int, num_steps: int,
                   spacing: str = "leading") -> np.ndarray:
  """Descending step indices [num_steps] of a DDIM trajectory.

  'trailing' (Lin et al. 2024, "Common diffusion noise schedules and sample
  steps are flawed", Table 2): round(N - i * N / S) - 1, i = 0 .. S-1, i.e.
  999, 989, .., 9 for N = 1000, S = 100. It starts at the last step, where
  the paper starts ("from Gaussian noise"); right for the linear schedule
  (alpha = 6.4e-3 at t = 999, and a_prev/a_t = 1.1 in the first update).

  'leading' (Song et al. 2021's "linear" subsequence, tau_i = floor(i * N/S),
  as in their code and diffusers' 'leading'): floor(i * N / S),
  i = S-1 .. 0, i.e. 990, 980, .., 0: evenly spaced, ending at 0, starting
  at N - N/S rather than N - 1. Needed with the cosine schedule and
  eps-prediction: its alpha at N - 1 is 4.9e-5, so the first update
  z -> (a_prev/a_t)(z - s_t eps) + .. would multiply the network's eps
  error by a_prev/a_t = 316 (N=1000, S=100), while starting at 990 (alpha
  0.014, SNR 2e-4: the N(0, I) prior is still exact to 1e-4) the ratio is
  2.1. The default of this function and of configs without
  ``sampling.timestep_spacing`` (checkpoints trained before the key).

  For S = N both are N-1 .. 0. S = 1 is degenerate with 'leading' (one step
  from t = 0); use S >= 10.
  """
  if spacing == "trailing":
    ts = np.round(np.arange(num_timesteps, 0, -num_timesteps / num_steps)
                  ).astype(np.int64)[:num_steps] - 1
  elif spacing == "leading":
    ts = (np.arange(num_steps - 1, -1, -1, dtype=np.int64) * num_timesteps
          // num_steps)
  else:
    raise ConfigError(f"config.sampling.timestep_spacing must be one of "
                      f"{SPACINGS}, got {spacing!r}")
  ts = ts.astype(np.int32)
  assert len(np.unique(ts)) == num_steps, ts
  return ts


def _validate(schedule: sched.VPSchedule, num_steps, eta, prediction,
              clip_x0, spacing="leading") -> None:
  n = schedule.num_timesteps
  if spacing not in SPACINGS:
    raise ConfigError(f"config.sampling.timestep_spacing must be one of "
                      f"{SPACINGS}, got {spacing!r}")
  if not isinstance(num_steps, (int, np.integer)) or not 1 <= num_steps <= n:
    raise ConfigError(f"config.sampling.num_steps must be an integer in "
                      f"[1, {n}] (config.diffusion.num_timesteps), got "
                      f"{num_steps!r}")
  if not (isinstance(eta, (int, float)) and eta >= 0):
    raise ConfigError(f"config.sampling.eta must be a number >= 0, got "
                      f"{eta!r}")
  if prediction not in sched.PREDICTIONS:
    raise ConfigError(f"config.diffusion.prediction must be one of "
                      f"{sched.PREDICTIONS}, got {prediction!r}")
  if clip_x0 is not None and not clip_x0 > 0:
    raise ConfigError(f"clip_x0 must be None or > 0, got {clip_x0!r}")


def _step_coefficients(schedule: sched.VPSchedule, num_steps: int,
                       spacing: str = "leading"):
  """(t [S], alpha_t, sigma_t, alpha_prev, sigma_prev [S]) of the trajectory.

  'prev' is the next, less noisy level; after the last step it is the clean
  level alpha = 1, sigma = 0.
  """
  ts = ddim_timesteps(schedule.num_timesteps, num_steps, spacing)
  a_t, s_t = schedule.alphas[ts], schedule.sigmas[ts]
  a_prev = jnp.concatenate([schedule.alphas[ts[1:]], jnp.ones((1,))])
  s_prev = jnp.concatenate([schedule.sigmas[ts[1:]], jnp.zeros((1,))])
  return jnp.asarray(ts), a_t, s_t, a_prev, s_prev


def _ddim_update(pred: Array, z: Array, a_t, s_t, a_prev, s_prev,
                 noise: Optional[Array], *, eta: float, prediction: str,
                 clip_x0: Optional[float]) -> Array:
  """One DDIM step z_t -> z_prev (Song et al. 2021, eq. 12), VP notation.

  alpha = sqrt(alpha_bar) and sigma = sqrt(1 - alpha_bar) of the paper.
  """
  # The network's guess of the clean sample and of the noise in z_t.
  x0, eps = sched.predictions_to_x0_eps(pred, z, a_t, s_t, prediction)
  if clip_x0 is not None:
    # Bound x0 (as improved-diffusion does for images) and keep eps
    # consistent with it, so the deterministic part stays on the same ray.
    x0 = jnp.clip(x0, -clip_x0, clip_x0)
    eps = sched.eps_from_x0(z, x0, a_t, s_t)
  # Eq. 16: the std of the fresh noise; eta = 1 is DDPM's posterior std,
  # eta = 0 the deterministic DDIM ODE-like sampler. Written with
  # 1 - alpha_bar_t / alpha_bar_prev = 1 - (a_t / a_prev)^2.
  std = eta * jnp.sqrt(jnp.square(s_prev / s_t)
                       * (1.0 - jnp.square(a_t / a_prev)))
  # "Direction pointing to x_t": the predicted noise, scaled so the total
  # noise variance at the next level is sigma_prev^2.
  direction = jnp.sqrt(jnp.maximum(jnp.square(s_prev) - jnp.square(std),
                                   0.0)) * eps
  # Re-noise the clean guess to the next level.
  z_prev = a_prev * x0 + direction
  if noise is not None:
    z_prev = z_prev + std * noise
  return z_prev


def _initial_and_step_keys(rng, shape, num_steps, init_noise):
  rng_init, rng_steps = jax.random.split(rng)
  if init_noise is None:
    z = jax.random.normal(rng_init, shape, jnp.float32)
  else:
    chex.assert_shape(init_noise, shape)
    z = init_noise.astype(jnp.float32)
  return z, jax.random.split(rng_steps, num_steps)


def _trajectory(variables, model, schedule, cond, x_ref, rng, init_noise, *,
                num_steps, eta, prediction, clip_x0, spacing):
  """The DDIM lax.scan from z_{N-1} to r0 [B,T,F] given the step-invariant
  conditioning cond [B, cond_dim] (model.encode's output)."""
  b = x_ref.shape[0]
  z, keys = _initial_and_step_keys(rng, x_ref.shape, num_steps, init_noise)
  ts, a_t, s_t, a_prev, s_prev = _step_coefficients(schedule, num_steps,
                                                    spacing)

  def step(z, xs):
    t, a, s, ap, sp, key = xs
    pred = model.apply(variables, z, x_ref, cond,
                       jnp.full((b,), t, jnp.int32), train=False,
                       method=model.denoise)
    noise = (jax.random.normal(key, z.shape, jnp.float32) if eta > 0
             else None)
    return _ddim_update(pred, z, a, s, ap, sp, noise, eta=eta,
                        prediction=prediction, clip_x0=clip_x0), None

  z, _ = jax.lax.scan(step, z, (ts, a_t, s_t, a_prev, s_prev, keys))
  return z


_STATIC = ("model", "num_steps", "eta", "prediction", "clip_x0", "spacing")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _ddim_scan(params, model, schedule, x_src, x_ref, v_src, v_tgt, rng,
               init_noise, *, num_steps, eta, prediction, clip_x0,
               spacing="leading"):
  variables = {"params": params}
  # Subject + speed conditioning: constant over the trajectory, so once.
  cond = model.apply(variables, x_src, v_src, v_tgt, method=model.encode)
  return _trajectory(variables, model, schedule, cond, x_ref, rng,
                     init_noise, num_steps=num_steps, eta=eta,
                     prediction=prediction, clip_x0=clip_x0, spacing=spacing)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _ddim_scan_request(params, model, schedule, x_src, x_ref, v_src, v_tgt,
                       source_index, rng, init_noise, *, num_steps, eta,
                       prediction, clip_x0, spacing="leading"):
  variables = {"params": params}
  # The BiLSTM once per distinct source, then the small speed MLP per row.
  z = None
  if model.use_subject_encoder:
    z = model.apply(variables, x_src, method=model.subject_embedding)
    z = z[source_index]
  cond = model.apply(variables, z, v_src[source_index], v_tgt,
                     method=model.condition)
  return _trajectory(variables, model, schedule, cond, x_ref, rng,
                     init_noise, num_steps=num_steps, eta=eta,
                     prediction=prediction, clip_x0=clip_x0, spacing=spacing)


def _check_inputs(x_src, x_ref, v_src, v_tgt):
  chex.assert_rank([x_src, x_ref, v_src, v_tgt], [3, 3, 1, 1])
  chex.assert_equal_shape([x_src, x_ref])
  chex.assert_equal_shape([v_src, v_tgt])
  chex.assert_equal(x_src.shape[0], v_src.shape[0])


def ddim_sample(params, model, schedule: sched.VPSchedule, x_src: Array,
                x_ref: Array, v_src: Array, v_tgt: Array, rng: jax.Array, *,
                num_steps: int = 100, eta: float = 0.0,
                prediction: str = "eps", residual: bool = True,
                init_noise: Optional[Array] = None,
                clip_x0: Optional[float] = None,
                spacing: str = "leading") -> Array:
  """Samples the clean diffusion variable r0 [B,T,F] (normalised units).

  Args:
    params: the model's 'params' collection.
    model: GaitDiffusionModel (static: hashable).
    schedule: the VPSchedule the model was trained with.
    x_src: [B,T,F] source (subject encoder). x_ref: [B,T,F] conditioning
      sequence (= x_src for the paper). v_src, v_tgt: [B] m/s.
    rng: key for the initial noise and, for eta > 0, the step noise.
    num_steps: DDIM steps, 1..N (paper: 100).
    eta: 0 = deterministic DDIM, 1 = DDPM-like ancestral noise.
    prediction: what the network outputs ('eps' | 'v' | 'x0').
    residual: whether r0 is a residual; it does not change the trajectory
      (see sample_x_tgt), accepted so callers pass one set of options.
    init_noise: [B,T,F] z_{N-1} to start from, or None (drawn from rng).
    clip_x0: None, or bound |x0_hat| <= clip_x0 at every step (a guard for
      eps-prediction at the noisiest steps, see schedule.py).
    spacing: 'trailing' (start at N-1, the paper) | 'leading' (start at
      N - N/S), see ddim_timesteps.
  Returns:
    r0 [B,T,F] float32: the residual (x_tgt - x_ref), or x_tgt itself when
    the model was trained with residual=False.
  """
  del residual
  _validate(schedule, num_steps, eta, prediction, clip_x0, spacing)
  _check_inputs(x_src, x_ref, v_src, v_tgt)
  return _ddim_scan(params, model, schedule, x_src, x_ref, v_src, v_tgt, rng,
                    init_noise, num_steps=int(num_steps), eta=float(eta),
                    prediction=prediction,
                    clip_x0=None if clip_x0 is None else float(clip_x0),
                    spacing=str(spacing))


def ddim_sample_request(params, model, schedule: sched.VPSchedule,
                        x_src: Array, x_ref: Array, v_src: Array,
                        v_tgt: Array, source_index: Array, rng: jax.Array, *,
                        num_steps: int = 100, eta: float = 0.0,
                        prediction: str = "eps",
                        init_noise: Optional[Array] = None,
                        clip_x0: Optional[float] = None,
                        spacing: str = "leading") -> Array:
  """ddim_sample for rows that share sources: r0 [R,T,F] in one scan.

  A generation request asks for K samples at each of S target speeds of
  one source: R = K * S rows whose subject embedding is the same. Here each
  distinct source goes through the BiLSTM once, its embedding is gathered
  to its rows, and all rows advance together in one lax.scan. Equal to
  ddim_sample(x_src[source_index], ..., v_src[source_index], ...) to float
  rounding (tests/test_sampling.py).

  Args:
    x_src: [N,T,F] the distinct sources. v_src: [N] their speeds (m/s).
    x_ref: [R,T,F] each row's conditioning sequence. v_tgt: [R] m/s.
    source_index: [R] int, row r's source is x_src[source_index[r]].
    Others as ddim_sample.
  Returns:
    r0 [R,T,F] float32.
  """
  _validate(schedule, num_steps, eta, prediction, clip_x0, spacing)
  chex.assert_rank([x_src, x_ref, v_src, v_tgt, source_index],
                   [3, 3, 1, 1, 1])
  chex.assert_equal(x_src.shape[0], v_src.shape[0])
  chex.assert_equal_shape([v_tgt, source_index])
  chex.assert_equal(x_ref.shape[0], v_tgt.shape[0])
  chex.assert_equal(x_src.shape[1:], x_ref.shape[1:])
  return _ddim_scan_request(
      params, model, schedule, x_src, x_ref, v_src, v_tgt,
      jnp.asarray(source_index, jnp.int32), rng, init_noise,
      num_steps=int(num_steps), eta=float(eta), prediction=prediction,
      clip_x0=None if clip_x0 is None else float(clip_x0),
      spacing=str(spacing))


def sample_x_tgt(params, model, schedule: sched.VPSchedule, x_src: Array,
                 x_ref: Array, v_src: Array, v_tgt: Array, rng: jax.Array, *,
                 residual: bool = True, **kwargs) -> Array:
  """Generated x_tgt [B,T,F] (normalised): x_ref + r0 (eq. 2), or r0 itself
  when residual=False. kwargs go to ddim_sample."""
  r0 = ddim_sample(params, model, schedule, x_src, x_ref, v_src, v_tgt, rng,
                   residual=residual, **kwargs)
  return x_ref.astype(jnp.float32) + r0 if residual else r0


@functools.partial(jax.jit, static_argnames=("model",))
def _encode(params, model, x_src, v_src, v_tgt):
  return model.apply({"params": params}, x_src, v_src, v_tgt,
                     method=model.encode)


@functools.partial(jax.jit, static_argnames=("model",))
def _denoise(params, model, z, x_ref, cond, t):
  return model.apply({"params": params}, z, x_ref, cond, t, train=False,
                     method=model.denoise)


def ddim_sample_loop_reference(params, model, schedule: sched.VPSchedule,
                               x_src, x_ref, v_src, v_tgt, rng, *,
                               num_steps: int = 100, eta: float = 0.0,
                               prediction: str = "eps",
                               init_noise: Optional[Array] = None,
                               clip_x0: Optional[float] = None,
                               spacing: str = "leading") -> Array:
  """ddim_sample as a plain Python loop (one network call per step, the
  network call itself jitted); for tests only."""
  _validate(schedule, num_steps, eta, prediction, clip_x0, spacing)
  _check_inputs(x_src, x_ref, v_src, v_tgt)
  b = x_ref.shape[0]
  cond = _encode(params, model, x_src, v_src, v_tgt)
  z, keys = _initial_and_step_keys(rng, x_ref.shape, num_steps, init_noise)
  ts = ddim_timesteps(schedule.num_timesteps, num_steps, spacing)
  for i, t in enumerate(ts):
    a_t, s_t = schedule.alphas[t], schedule.sigmas[t]
    last = i == num_steps - 1
    a_prev = 1.0 if last else schedule.alphas[ts[i + 1]]
    s_prev = 0.0 if last else schedule.sigmas[ts[i + 1]]
    pred = _denoise(params, model, z, x_ref, cond,
                    jnp.full((b,), int(t), jnp.int32))
    noise = (jax.random.normal(keys[i], z.shape, jnp.float32) if eta > 0
             else None)
    z = _ddim_update(pred, z, a_t, s_t, a_prev, s_prev, noise, eta=eta,
                     prediction=prediction, clip_x0=clip_x0)
  return z
