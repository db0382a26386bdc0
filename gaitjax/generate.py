"""Generate a person's gait at new walking speeds from a trained checkpoint.

    from gaitjax.generate import Generator
    gen = Generator("runs/cpu")                       # loads the best checkpoint once
    out = gen.generate(x_src_deg, v_src=0.8, v_tgt=[0.6, 1.0, 1.4], num_samples=4)
    out.mean   # [N, S, T, 6] degrees: N sources x S target speeds
    out.std    # [N, S, T, 6] spread over the K samples

Sources are arrays in degrees at 20 Hz ([T, 6] or [N, T, 6], canonical channel
order) or `Trial`s at any rate (resampled). Every (source, target speed, sample)
becomes one row of a batch; rows are padded to a multiple of the local device
count and sharded over all local devices with `jax.pmap`.
"""
import dataclasses
import hashlib
import logging
from typing import Dict, Optional, Protocol, Sequence, Union

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.data import reference
from gaitjax.data import regression
from gaitjax.data.normalize import NormStats
from gaitjax.data.trial import Trial
from gaitjax.errors import ConfigError, DataError
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import tasks

ArrayLike = Union[np.ndarray, Sequence[float], float]


@dataclasses.dataclass
class GenerationResult:
  """Generated gait in degrees.

  Attributes:
    mean: [N, S, T, 6] mean over the K samples of each (source, target).
    std: [N, S, T, 6] standard deviation over the K samples.
    samples: [N, S, K, T, 6] every sample.
    v_src: [N] source speeds; v_tgt: [N, S] target speeds (m/s).
    extrapolated: [N, S] bool, target outside the training speed range.
  """
  mean: np.ndarray
  std: np.ndarray
  samples: np.ndarray
  v_src: np.ndarray
  v_tgt: np.ndarray
  extrapolated: np.ndarray


class GaitGenerator(Protocol):
  """Anything that generates gait: ``Generator``, the evaluation's baseline
  rows (``eval.simple_baselines``, ``eval.baseline_rows``) and test fakes.

  ``generate(sources [N, T, 6] deg, v_src [N], v_tgt [N, S] m/s, *,
  num_samples=K, seed, cohort) -> GenerationResult`` with mean/std
  [N, S, T, 6] and samples [N, S, K, T, 6] in degrees.
  """

  def generate(self, sources, v_src: ArrayLike, v_tgt: ArrayLike, *,
               num_samples: int = 1, seed: int = 0,
               cohort: str = "able_bodied") -> GenerationResult:
    ...


def _as_sources(sources) -> np.ndarray:
  """Trials or arrays -> [N, T, 6] float32 degrees at 20 Hz."""
  if isinstance(sources, Trial):
    sources = [sources]
  if isinstance(sources, (list, tuple)) and sources and isinstance(
      sources[0], Trial):
    return np.stack([preprocess.to_model_input(t) for t in sources])
  x = np.asarray(sources, dtype=np.float32)
  if x.ndim == 2:
    x = x[None]
  if x.ndim != 3 or x.shape[-1] != constants.NUM_CHANNELS:
    raise DataError(f"source: expected [T, 6] or [N, T, 6] degrees "
                    f"({', '.join(constants.CHANNELS)}), got shape {x.shape}")
  if x.shape[1] != constants.SEQ_LEN:
    raise DataError(f"source: expected {constants.SEQ_LEN} samples (30 s at "
                    f"20 Hz), got {x.shape[1]}; pass a Trial to resample")
  for i, xi in enumerate(x):
    preprocess.check_plausible(xi, f"source {i}")
  return x


def _speeds(value, name: str, shape) -> np.ndarray:
  try:
    v = np.asarray(value, dtype=np.float64)
  except (TypeError, ValueError):
    raise DataError(f"{name}: expected speeds in m/s, got {value!r}") from None
  if not np.all(np.isfinite(v)) or np.any(v <= 0):
    raise DataError(f"{name}: speeds must be positive finite m/s, got "
                    f"{np.ravel(v).tolist()}")
  lo, hi = constants.SPEED_LIMITS_MPS
  if np.any(v < lo) or np.any(v > hi):
    raise DataError(f"{name}: speed outside the walking range [{lo}, {hi}] "
                    f"m/s: {np.ravel(v).tolist()}")
  return np.broadcast_to(v, shape).astype(np.float32)


class Generator:
  """A loaded checkpoint that generates gait at target speeds.

  Args:
    checkpoint: a training workdir or its checkpoints/ folder.
    which: 'best' (lowest validation loss, the paper's rule), 'latest' or a step.
    num_steps, eta: DDIM settings; default to the checkpoint's config.sampling.
    temperature: initial-noise scale (config.sampling.temperature; 1 = the
      learned distribution, 0 = a deterministic point estimate).
    batch_size: rows per device call (padded to a multiple of local devices).
    allow_extrapolation: accept target speeds outside the training range.
  """

  def __init__(self, checkpoint: str, which: Union[str, int] = "best", *,
               num_steps: Optional[int] = None, eta: Optional[float] = None,
               temperature: Optional[float] = None,
               batch_size: Optional[int] = None,
               allow_extrapolation: bool = False):

    bundle = ckpt_lib.load_for_inference(checkpoint, which)
    config = ml_collections.ConfigDict(bundle.config.to_dict())
    if num_steps is not None:
      config.sampling.num_steps = int(num_steps)
    if eta is not None:
      config.sampling.eta = float(eta)
    if batch_size is not None:
      config.sampling.batch_size = int(batch_size)
    if temperature is not None:
      if not float(temperature) >= 0.0:
        raise ConfigError(f"--temperature={temperature}: expected a number "
                          f">= 0")
      config.sampling.temperature = float(temperature)
    if not 1 <= config.sampling.num_steps <= config.diffusion.num_timesteps:
      raise ConfigError(
          f"--num_steps={config.sampling.num_steps}: expected 1.."
          f"{config.diffusion.num_timesteps} DDIM steps")
    self.config = config
    self.bundle = bundle
    self.params = bundle.params
    self.stats: Dict[str, NormStats] = dict(bundle.stats)
    self.template = (regression.model_from_dict(bundle.template)
                     if bundle.template else None)
    self.allow_extrapolation = allow_extrapolation
    self._warned_speeds = set()
    self.speed_range = self._training_speed_range()
    self._task = tasks.get_task(config)
    # This process's devices only: under jax.distributed each process
    # generates its own shard, without waiting for the others.
    self._predict = jax.pmap(self._task.predict_fn, axis_name="batch",
                             in_axes=(None, 0, 0),
                             devices=jax.local_devices())
    self._predict_request = (
        None if self._task.predict_request_fn is None else
        jax.pmap(self._task.predict_request_fn, axis_name="batch",
                 in_axes=(None, 0, 0), devices=jax.local_devices()))

  # ----------------------------------------------------------- properties
  @property
  def step(self) -> int:
    return int(self.bundle.step)

  @property
  def checksum(self) -> str:
    return str(self.bundle.checksum)

  def _training_speed_range(self):
    if self.template is not None and getattr(self.template, "speeds",
                                             None) is not None:
      speeds = np.asarray(self.template.speeds, dtype=np.float64)
      return float(speeds.min()), float(speeds.max())
    meta = getattr(self.bundle, "speed_range", None)
    if meta:
      return tuple(map(float, meta))
    return constants.SPEED_LIMITS_MPS

  def check_speeds(self, v: np.ndarray, name: str = "target speed"
                   ) -> np.ndarray:
    """Returns a bool mask of extrapolated speeds; refuses them unless allowed."""
    lo, hi = self.speed_range
    tol = 1e-6
    outside = (v < lo - tol) | (v > hi + tol)
    if np.any(outside) and not self.allow_extrapolation:
      bad = sorted(set(np.round(v[outside], 3).tolist()))
      raise DataError(
          f"{name} {bad} m/s outside the training range [{lo:.2f}, "
          f"{hi:.2f}] m/s; pass --allow_extrapolation to generate anyway")
    new = set(np.round(v[outside], 3).tolist()) - self._warned_speeds
    if new:  # once per speed, not once per call
      self._warned_speeds |= new
      logging.warning("%s: extrapolating to %s m/s (training range "
                      "%.2f-%.2f)", name, sorted(new), lo, hi)
    return outside

  # ------------------------------------------------------------ generation
  def generate(self, sources, v_src: ArrayLike, v_tgt: ArrayLike, *,
               num_samples: int = 1, seed: int = 0,
               cohort: str = "able_bodied",
               shared_noise: bool = False) -> GenerationResult:
    """Generates every source at every target speed, K samples each.

    Args:
      sources: [T, 6] / [N, T, 6] degrees at 20 Hz, or Trial(s).
      v_src: source speed(s) [N] (m/s).
      v_tgt: target speeds: a scalar, [S] (a sweep shared by all sources) or
        [N, S].
      num_samples: K samples per (source, target).
      seed: PRNG seed; the same seed gives the same samples.
      cohort: which normalisation statistics to use ('able_bodied' or
        'stroke'; the paper normalises stroke subjects with stroke statistics).
      shared_noise: use the same initial noise for the K samples (with eta=0
        they are then identical; a check of determinism).
    """
    x_src = _as_sources(sources)
    n = x_src.shape[0]
    v_src = _speeds(v_src, "source speed", (n,))
    v_tgt_arr = np.asarray(v_tgt, dtype=np.float64)
    if v_tgt_arr.ndim <= 1:
      v_tgt_arr = np.broadcast_to(np.atleast_1d(v_tgt_arr),
                                  (n, np.atleast_1d(v_tgt_arr).shape[0]))
    v_tgt = _speeds(v_tgt_arr, "target speed", v_tgt_arr.shape)
    if v_tgt.shape[0] != n:
      raise DataError(f"target speed: expected [N={n}, S] speeds, got "
                      f"{v_tgt.shape}")
    self.check_speeds(v_src.astype(np.float64), "source speed")
    extrapolated = self.check_speeds(v_tgt.astype(np.float64))
    if int(num_samples) < 1:
      raise ConfigError(f"num_samples must be >= 1, got {num_samples}")
    k = int(num_samples)
    stats = self._stats_for(cohort)
    s = v_tgt.shape[1]
    # One row per (source, target, sample).
    src_idx = np.repeat(np.arange(n), s * k)
    rows_v_tgt = np.repeat(v_tgt.reshape(-1), k)
    rows_v_src = v_src[src_idx]
    x_ref_deg = self._references(x_src, v_src, v_tgt)        # [N, S, T, 6]
    x_ref_rows = np.repeat(x_ref_deg.reshape(n * s, *x_src.shape[1:]), k, 0)
    noise_ids = (np.repeat(np.arange(n * s), k) if shared_noise
                 else np.arange(n * s * k))
    if self._predict_request is not None:
      out = self._run_request(stats.normalize(x_src), v_src,
                              stats.normalize(x_ref_rows), rows_v_tgt,
                              src_idx, noise_ids, seed)
    else:
      out = self._run_rows(stats.normalize(x_src[src_idx]),
                           stats.normalize(x_ref_rows), rows_v_src,
                           rows_v_tgt, noise_ids, seed)
    samples = stats.denormalize(out).reshape(n, s, k, *x_src.shape[1:])
    return GenerationResult(
        mean=samples.mean(axis=2), std=samples.std(axis=2), samples=samples,
        v_src=v_src, v_tgt=v_tgt, extrapolated=extrapolated)

  def _stats_for(self, cohort: str) -> NormStats:
    if cohort not in constants.COHORTS:
      raise DataError(f"cohort must be one of {constants.COHORTS}, got "
                      f"{cohort!r}")
    if cohort in self.stats:
      return self.stats[cohort]
    logging.warning("checkpoint has no %s normalisation statistics; using "
                    "the training (able-bodied) statistics", cohort)
    return self.stats["able_bodied"]

  def _references(self, x_src, v_src, v_tgt) -> np.ndarray:
    """x_ref [N, S, T, 6] degrees for every (source, target speed)."""
    kind = self.config.data.reference
    n, s = v_tgt.shape
    refs = np.empty((n, s) + x_src.shape[1:], np.float32)
    for i in range(n):
      for j in range(s):
        refs[i, j] = reference.make_reference(
            kind, x_src[i], float(v_src[i]), float(v_tgt[i, j]),
            self.template, rate_hz=self.config.data.rate_hz)
    return refs

  def _run_request(self, x_src, v_src, x_ref, v_tgt, source_index,
                   noise_ids, seed) -> np.ndarray:
    """Runs predict_request_fn over rows that share sources.

    x_src [N, T, 6] / v_src [N]: the distinct sources (normalised); x_ref
    [R, T, 6], v_tgt [R], source_index [R], noise_ids [R]: the rows. Each
    device's slice of a batch sends its distinct sources once (the BiLSTM
    then runs once per source, not once per row), padded to one count for
    the whole call so that it compiles once.
    """
    num_devices = jax.local_device_count()
    per_device = max(1, int(self.config.sampling.batch_size) // num_devices)
    chunk = per_device * num_devices
    rows = x_ref.shape[0]
    source_index = np.asarray(source_index, np.int64)
    need = max(np.unique(source_index[a:a + per_device]).size
               for a in range(0, rows, per_device))
    # A power of two: a few shapes across calls, not one per request size.
    num_sources = min(per_device, 1 << max(need - 1, 0).bit_length())
    outputs = []
    base = jax.random.PRNGKey(seed)
    rngs = jnp.broadcast_to(base, (num_devices,) + base.shape)
    for start, stop, idx in _padded_chunks(rows, chunk):
      per_dev = {"x_src": [], "v_src": [], "source_index": []}
      for d in range(num_devices):
        rows_d = idx[d * per_device:(d + 1) * per_device]
        sources, local = np.unique(source_index[rows_d], return_inverse=True)
        sources = np.concatenate([sources, np.full(
            num_sources - sources.size, sources[-1], dtype=sources.dtype)])
        per_dev["x_src"].append(x_src[sources])
        per_dev["v_src"].append(v_src[sources])
        per_dev["source_index"].append(local.astype(np.int32))
      request = {k: np.stack(v) for k, v in per_dev.items()}
      request.update(jax.tree.map(
          lambda a: np.asarray(a).reshape((num_devices, per_device)
                                          + a.shape[1:]),
          {"x_ref": x_ref[idx], "v_tgt": v_tgt[idx],
           "noise_id": noise_ids[idx].astype(np.int32)}))
      # Row noise from fold_in(base, noise_id), as in _run_rows.
      pred = self._predict_request(self.params, request, rngs)
      pred = np.asarray(pred, dtype=np.float32).reshape(
          (chunk,) + x_ref.shape[1:])
      outputs.append(pred[:stop - start])
    return np.concatenate(outputs, axis=0)

  def _run_rows(self, x_src, x_ref, v_src, v_tgt, noise_ids, seed
                ) -> np.ndarray:
    """Runs the model's predict_fn over rows, sharded over local devices."""
    num_devices = jax.local_device_count()
    per_device = max(1, int(self.config.sampling.batch_size) // num_devices)
    chunk = per_device * num_devices
    rows = x_src.shape[0]
    outputs = []
    base = jax.random.PRNGKey(seed)
    for start, stop, idx in _padded_chunks(rows, chunk):
      batch = {
          "x_src": x_src[idx], "x_ref": x_ref[idx], "x_tgt": x_ref[idx],
          "v_src": v_src[idx], "v_tgt": v_tgt[idx],
          "subject": np.zeros(chunk, np.int32),
          "noise_id": noise_ids[idx].astype(np.int32),
      }
      batch = jax.tree.map(
          lambda a: np.asarray(a).reshape((num_devices, per_device)
                                          + a.shape[1:]), batch)
      # Every row's noise comes from fold_in(base, noise_id), so a sample
      # does not depend on how rows are batched or sharded.
      rngs = jnp.broadcast_to(base, (num_devices,) + base.shape)
      pred = self._predict(self.params, batch, rngs)
      pred = np.asarray(pred, dtype=np.float32).reshape(
          (chunk,) + x_src.shape[1:])
      outputs.append(pred[:stop - start])
    return np.concatenate(outputs, axis=0)


def _padded_chunks(rows: int, chunk: int):
  """Yields (start, stop, idx [chunk]) over rows in chunks of ``chunk``;
  the last chunk repeats its last row so every device call has one shape."""
  for start in range(0, rows, chunk):
    stop = min(start + chunk, rows)
    pad = np.full(chunk - (stop - start), stop - 1, dtype=np.int64)
    yield start, stop, np.concatenate([np.arange(start, stop), pad])


def file_sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()
