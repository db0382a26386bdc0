"""What the trainer trains: a model's init, loss and prediction functions.

A ``Task`` is three pure functions on per-device batches (dicts of arrays,
normalised units, see gaitjax/data/pipeline.py)::

  x_src, x_tgt, x_ref  [B, T, 6]      v_src, v_tgt  [B] m/s
  subject              [B] int32      (optional: mask [B], noise_id [B])

The trainer (step.py, loop.py) only ever calls these, so the diffusion model
and the MLP/TCN baselines share one training loop, one checkpoint format and
one evaluation path. ``get_task(config)`` picks one by ``config.model.name``.
"""
import dataclasses
import functools
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gaitjax import constants
from gaitjax.diffusion import losses
from gaitjax.diffusion import sampling
from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError
from gaitjax.models import baselines
from gaitjax.models import denoiser

Array = jnp.ndarray
Batch = Mapping[str, Array]
Params = Any
Metrics = Dict[str, Array]

# (rng, example_batch [B, ...]) -> params
InitFn = Callable[[jax.Array, Batch], Params]
# (params, batch [B, ...], rng, *, train) -> (scalar loss, {name: scalar})
LossFn = Callable[..., Tuple[Array, Metrics]]
# (params, batch [B, ...], rng) -> x_tgt [B, T, 6] normalised, float32
PredictFn = Callable[[Params, Batch, jax.Array], Array]


@dataclasses.dataclass(frozen=True)
class Task:
  """A trainable model as three pure, jit-able functions.

  Attributes:
    init_params: (rng, example_batch) -> params pytree (float32).
    loss_fn: (params, batch, rng, *, train) -> (loss, metrics); loss is a
      float32 scalar, metrics a flat dict of float32 scalars that includes
      'loss'. ``train`` switches dropout on.
    predict_fn: (params, batch, rng) -> x_tgt [B, T, 6] normalised float32
      (what evaluation compares with batch['x_tgt']).
    name: model name, for logs.
    predict_request_fn: optional (params, request, rng) -> x_tgt [R, T, 6]
      for rows that share sources (generation requests: K samples x S
      target speeds of one source). request holds the N distinct sources
      'x_src' [N, T, 6], 'v_src' [N] and per row 'x_ref' [R, T, 6],
      'v_tgt' [R], 'source_index' [R] int32, 'noise_id' [R] int32. Equal
      to predict_fn on the rows with their sources repeated, to float
      rounding; None = the Generator uses predict_fn.
  """
  init_params: InitFn
  loss_fn: LossFn
  predict_fn: PredictFn
  name: str = ""
  predict_request_fn: Optional[PredictFn] = None


# Factories by config.model.name beyond the built-in ones; tests register
# fakes here.
_REGISTRY: Dict[str, Callable[[ml_collections.ConfigDict], Task]] = {}


def register_task(name: str,
                  factory: Callable[[ml_collections.ConfigDict], Task]) -> None:
  """Makes config.model.name == name build its Task with factory(config)."""
  _REGISTRY[name] = factory


def registered_names() -> Tuple[str, ...]:
  return tuple(sorted(_REGISTRY))


def get_task(config: ml_collections.ConfigDict) -> Task:
  """The Task of config.model.name ('diffusion' | 'mlp' | 'tcn' | registered).

  Raises:
    ConfigError: unknown name, or the module that builds it is missing.
  """
  name = config.model.get("name", "diffusion")
  if name in _REGISTRY:
    task = _REGISTRY[name](config)
  elif name == "diffusion":
    task = make_diffusion_task(config)
  elif name in ("mlp", "tcn"):
    task = make_baseline_task(config)
  else:
    known = ("diffusion", "mlp", "tcn") + registered_names()
    raise ConfigError(f"config.model.name={name!r}: expected one of "
                      f"{', '.join(known)}")
  if not task.name:
    task = dataclasses.replace(task, name=name)
  return task


def dummy_batch(config: ml_collections.ConfigDict,
                batch_size: int = 1) -> Dict[str, np.ndarray]:
  """Zeros with the shapes of one per-device batch [batch_size, ...].

  Enough for ``init_params`` under jax.eval_shape (restoring checkpoints).
  """
  t = int(config.data.seq_len)
  x = np.zeros((batch_size, t, constants.NUM_CHANNELS), np.float32)
  v = np.ones((batch_size,), np.float32)
  return {"x_src": x, "x_tgt": x, "x_ref": x, "v_src": v, "v_tgt": v,
          "subject": np.zeros((batch_size,), np.int32)}


# -------------------------------------------------------------- diffusion


def make_diffusion_task(config: ml_collections.ConfigDict) -> Task:
  """The subject-conditioned residual diffusion model (paper II.D)."""
  model = denoiser.make_model(config)
  schedule = sched.make_schedule(config.diffusion.schedule,
                                 config.diffusion.num_timesteps)
  loss_cfg = losses.LossConfig.from_config(config.loss)
  prediction = str(config.diffusion.prediction)
  residual = bool(config.diffusion.residual)
  num_steps = int(config.sampling.num_steps)
  eta = float(config.sampling.eta)
  clip_x0 = config.sampling.get("clip_x0", None)
  # Configs saved before the key existed sampled with 'leading' spacing.
  spacing = str(config.sampling.get("timestep_spacing", "leading"))
  temperature = float(config.sampling.get("temperature", 1.0))

  def init_params(rng: jax.Array, example_batch: Batch) -> Params:
    x = jnp.asarray(example_batch["x_src"], jnp.float32)
    b = x.shape[0]
    param_rng, dropout_rng = jax.random.split(rng)
    variables = model.init(
        {"params": param_rng, "dropout": dropout_rng}, x,
        jnp.asarray(example_batch["x_ref"], jnp.float32), x,
        jnp.asarray(example_batch["v_src"], jnp.float32),
        jnp.asarray(example_batch["v_tgt"], jnp.float32),
        jnp.zeros((b,), jnp.int32), train=False)
    return variables["params"]

  def loss_fn(params: Params, batch: Batch, rng: jax.Array, *,
              train: bool) -> Tuple[Array, Metrics]:
    return losses.diffusion_loss(
        params, model, schedule, _loss_batch(batch), rng, loss_cfg=loss_cfg,
        prediction=prediction, residual=residual, train=train)

  def predict_fn(params: Params, batch: Batch, rng: jax.Array) -> Array:
    """DDIM (config.sampling) -> x_tgt [B, T, 6] normalised.

    With batch['noise_id'] [B] the initial noise of row i is drawn from
    fold_in(rng, noise_id[i]), so a sample does not depend on batching.
    config.sampling.temperature scales the initial noise.
    """
    x_src = jnp.asarray(batch["x_src"], jnp.float32)
    init_noise = None
    if "noise_id" in batch:
      init_noise = _row_noise(rng, batch["noise_id"], x_src.shape[1:])
    elif temperature != 1.0:
      init_noise = jax.random.normal(jax.random.fold_in(rng, 1),
                                     x_src.shape, jnp.float32)
    if init_noise is not None and temperature != 1.0:
      init_noise = temperature * init_noise
    return sampling.sample_x_tgt(
        params, model, schedule, x_src,
        jnp.asarray(batch["x_ref"], jnp.float32),
        jnp.asarray(batch["v_src"], jnp.float32),
        jnp.asarray(batch["v_tgt"], jnp.float32), rng, residual=residual,
        num_steps=num_steps, eta=eta, prediction=prediction,
        init_noise=init_noise, clip_x0=clip_x0, spacing=spacing)

  def predict_request_fn(params: Params, request: Batch,
                         rng: jax.Array) -> Array:
    """predict_fn for rows sharing sources (Task.predict_request_fn): the
    BiLSTM runs once per distinct source; row noise as predict_fn's."""
    x_ref = jnp.asarray(request["x_ref"], jnp.float32)
    init_noise = _row_noise(rng, request["noise_id"], x_ref.shape[1:])
    if temperature != 1.0:
      init_noise = temperature * init_noise
    r0 = sampling.ddim_sample_request(
        params, model, schedule, jnp.asarray(request["x_src"], jnp.float32),
        x_ref, jnp.asarray(request["v_src"], jnp.float32),
        jnp.asarray(request["v_tgt"], jnp.float32),
        jnp.asarray(request["source_index"], jnp.int32), rng,
        num_steps=num_steps, eta=eta, prediction=prediction,
        init_noise=init_noise, clip_x0=clip_x0, spacing=spacing)
    return x_ref + r0 if residual else r0

  return Task(init_params=init_params, loss_fn=loss_fn,
              predict_fn=predict_fn, name="diffusion",
              predict_request_fn=predict_request_fn)


_LOSS_KEYS = ("x_src", "x_tgt", "x_ref", "v_src", "v_tgt", "subject")


def _loss_batch(batch: Batch) -> Dict[str, Array]:
  """The keys diffusion_loss reads (drops mask / pair_index / noise_id)."""
  return {k: batch[k] for k in _LOSS_KEYS if k in batch}


def _row_noise(rng: jax.Array, noise_id: Array, shape) -> Array:
  """[B, *shape] standard normal, row i from fold_in(rng, noise_id[i])."""
  draw = functools.partial(jax.random.normal, shape=tuple(shape),
                           dtype=jnp.float32)
  keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(
      jnp.asarray(noise_id, jnp.int32))
  return jax.vmap(draw)(keys)


# -------------------------------------------------------------- baselines
def _per_device(batch: Batch) -> Tuple[Array, Array, Array]:
  """x_src [B, T, F], v_src [B], v_tgt [B]; a [D, B/D, ...] batch is merged."""
  x = jnp.asarray(batch["x_src"])
  v_src, v_tgt = jnp.asarray(batch["v_src"]), jnp.asarray(batch["v_tgt"])
  if x.ndim == 4:
    x = x.reshape((-1,) + x.shape[2:])
    v_src, v_tgt = v_src.reshape(-1), v_tgt.reshape(-1)
  return x, v_src, v_tgt


def make_baseline_task(config: ml_collections.ConfigDict) -> Task:
  """Task (init_params, loss_fn, predict_fn) of the configured baseline.

  Batches are per device and normalised: x_src, x_tgt [B, T, F],
  v_src, v_tgt [B] m/s. x_ref and subject are ignored: the baselines map
  the raw source sequence [P II.G].
  """
  model = baselines.build_model(config)

  def init_params(rng: Array, example_batch: Batch) -> Params:
    x, v_src, v_tgt = _per_device(example_batch)
    return model.init(rng, x, v_src, v_tgt)["params"]

  def predict_fn(params: Params, batch: Batch, rng: Array) -> Array:
    """Normalised x_tgt [B, T, F] float32 (deterministic; rng unused)."""
    del rng
    chex.assert_rank(batch["x_src"], 3)
    return model.apply({"params": params}, batch["x_src"], batch["v_src"],
                       batch["v_tgt"])

  def loss_fn(params: Params, batch: Batch, rng: Array, *,
              train: bool) -> Tuple[Array, Dict[str, Array]]:
    """MSE on the normalised target sequence [P II.G]."""
    del train  # no dropout or batch statistics
    pred = predict_fn(params, batch, rng)
    err = pred - batch["x_tgt"].astype(jnp.float32)
    mse = jnp.mean(err**2)
    return mse, {"loss": mse, "mse": mse, "mae": jnp.mean(jnp.abs(err))}

  return Task(init_params=init_params, loss_fn=loss_fn, predict_fn=predict_fn)
