"""Training and evaluation batches of (source, target, reference) pairs.

Batch = dict of numpy arrays, D = devices, B = global batch size::

  x_src, x_tgt, x_ref  [D, B/D, T, 6] float32, z-scored with the given stats
  v_src, v_tgt         [D, B/D] float32 m/s
  subject              [D, B/D] int32 (index into TrialSet.subjects)
  (fixed_pairs_batches adds  mask [D, B/D] bool, pair_index [D, B/D] int32)

``PairSampler.batch(step)`` is a pure function of (seed, step): the only
state a resumed run needs is the step it stopped at, so a resume mid-epoch
reproduces exactly the batches an uninterrupted run would have seen.

The paper's "up to 100,000 balanced source-target pairs" (II.E) is read as a
fixed training set of ``data.num_train_pairs`` pairs drawn once from the
balanced distribution (pairs.sample_training_pairs, seeded by ``seed``) and
visited epoch by epoch in a fresh order per epoch. The 13 training subjects
only have ~10k distinct within-subject pairs, so the 100k pairs repeat
pairs, as the paper's must have; what the budget fixes is the balance and
the epoch length. ``num_train_pairs = 0`` draws fresh pairs every step from
the same distribution instead. The pairs are index pairs held in memory
(100k x 2 ints). ``data.pairs = "tfds"`` reads them instead from the
gaitjax_pairs dataset (pair_dataset.py), which stores this very draw (same
seed and balance: identical batches).
"""
import queue
import threading
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import pairs as pairs_lib
from gaitjax.errors import CheckpointError, ConfigError

Batch = Dict[str, np.ndarray]
REFERENCES: Tuple[str, ...] = ("source", "warped", "template", "regression")
# data.reference_timing: whose cycle timing a training / validation
# reference follows (see reference_timing below).
REFERENCE_TIMINGS: Tuple[str, ...] = ("target", "inference")
# Independent random streams of one seed.
_POOL_STREAM, _EPOCH_STREAM, _STEP_STREAM = 1, 2, 3


def _cfg(data_cfg, name: str, default):
  value = getattr(data_cfg, name, default) if data_cfg is not None else default
  return default if value is None else value


def reference_timing(data_cfg) -> bool:
  """use_target_timing for training and validation batches.

  data.reference_timing (only matters for the 'warped' / 'template'
  references):
    'target': the reference follows x_tgt's detected cycle timing, so the
      residual holds shape differences only; at inference the timing comes
      from the source's phase and the predicted cadence, which the network
      never saw in training.
    'inference': the reference is built exactly as at inference (source
      phase, predicted cadence) and the network must learn the timing
      correction too.
  Configs without the key (checkpoints from before it) used 'target'.
  """
  timing = str(_cfg(data_cfg, "reference_timing", "target"))
  if timing not in REFERENCE_TIMINGS:
    raise ConfigError(f"data.reference_timing={timing!r}: expected one of "
                      f"{', '.join(REFERENCE_TIMINGS)}")
  return timing == "target"


def _check_devices(batch_size: int, num_devices: int) -> None:
  if num_devices < 1 or batch_size < 1 or batch_size % num_devices:
    raise ConfigError(f"batch size {batch_size} must be a positive multiple "
                      f"of the number of devices {num_devices}")


def _shard(x: np.ndarray, num_devices: int) -> np.ndarray:
  """[B, ...] -> [D, B/D, ...]."""
  return x.reshape((num_devices, x.shape[0] // num_devices) + x.shape[1:])


class _References:
  """x_ref for index pairs, in degrees, with per-trial work done once.

  'source' is x_src itself; 'warped' / 'template' come from
  gaitjax.data.reference. At training time (``use_target_timing``) the
  reference's cycle timing follows x_tgt (reference.py's training mode); at
  evaluation the target is unknown and timing comes from the template's
  cadence model.
  """

  def __init__(self, kind: str, trials, template, rate_hz: float):
    if kind not in REFERENCES:
      raise ConfigError(f"data.reference={kind!r}: expected one of "
                        f"{', '.join(REFERENCES)}")
    if kind != "source" and template is None:
      raise ConfigError(f"data.reference={kind!r} needs a TemplateModel "
                        f"(fit on the training split)")
    self.kind = kind
    self._trials = trials
    self._template = template
    self._rate_hz = rate_hz
    self._infos = None
    if kind != "source":
      from gaitjax.data import reference
      self._make = reference.make_reference_from_info
      # Cycle detection is the slow part: once per trial, not per pair.
      self._infos = reference.precompute_cycles(trials.x, rate_hz)

  def __call__(self, src: np.ndarray, tgt: np.ndarray,
               use_target_timing: bool) -> np.ndarray:
    """src, tgt: [B] trial indices -> [B, T, 6] degrees."""
    ts = self._trials
    if self.kind == "source":
      return ts.x[src]
    return np.stack([self._make(
        self.kind, ts.x[i], self._infos[i], float(ts.speed[i]),
        float(ts.speed[j]), self._template,
        tgt_info=self._infos[j] if use_target_timing else None,
        rate_hz=self._rate_hz, num_samples=ts.x.shape[1])
                     for i, j in zip(src.tolist(), tgt.tolist())])


def _assemble(trials, stats, refs: _References, src: np.ndarray,
              tgt: np.ndarray, swap: Optional[np.ndarray], num_devices: int,
              use_target_timing: bool) -> Batch:
  """Gathers, swaps (in degrees), normalises and shards one batch."""
  x_src = trials.x[src]
  x_tgt = trials.x[tgt]
  x_ref = refs(src, tgt, use_target_timing)
  if swap is not None and swap.any():
    perm = np.asarray(constants.SWAP_SIDES)
    # The stats differ per channel, so swap before normalising.
    x_src, x_tgt, x_ref = (np.where(swap[:, None, None], x[..., perm], x)
                           for x in (x_src, x_tgt, x_ref))
  out = {
      "x_src": stats.normalize(x_src),
      "x_tgt": stats.normalize(x_tgt),
      "x_ref": stats.normalize(x_ref),
      "v_src": trials.speed[src],
      "v_tgt": trials.speed[tgt],
      "subject": trials.subject_index[src],
  }
  return {k: _shard(np.asarray(v, np.int32 if k == "subject"
                               else np.float32), num_devices)
          for k, v in out.items()}


class PairSampler:
  """Balanced training batches, a pure function of (seed, step).

  Args:
    trials: TrialSet of the training split (degrees).
    stats: NormStats applied to x_src, x_tgt and x_ref.
    template: reference.TemplateModel (needed unless data.reference is
      'source').
    data_cfg: config.data (reference, swap_sides_prob, num_train_pairs,
      pair_fractions, near_threshold_mps, source_speeds, rate_hz; pairs =
      'tfds' reads the fixed training pairs from the gaitjax_pairs build of
      data_dir/dataset instead of drawing them).
    batch_size: global batch size B.
    num_devices: D; batches come as [D, B/D, ...].
    seed: the only source of randomness.
  """

  def __init__(self, trials, stats, template, data_cfg, batch_size: int,
               num_devices: int = 1, seed: int = 0):
    _check_devices(batch_size, num_devices)
    self.trials = trials
    self.stats = stats
    self.batch_size = int(batch_size)
    self.num_devices = int(num_devices)
    self.seed = int(seed)
    self.swap_prob = float(_cfg(data_cfg, "swap_sides_prob", 0.0))
    if not 0.0 <= self.swap_prob <= 1.0:
      raise ConfigError(f"data.swap_sides_prob={self.swap_prob}: expected a "
                        f"probability in [0, 1]")
    self._pair_kwargs = dict(
        fractions=tuple(_cfg(data_cfg, "pair_fractions", (1 / 3,) * 3)),
        near_threshold=float(_cfg(data_cfg, "near_threshold_mps", 0.1)),
        source_speeds=tuple(_cfg(data_cfg, "source_speeds", ())))
    self._refs = _References(str(_cfg(data_cfg, "reference", "source")),
                             trials, template,
                             float(_cfg(data_cfg, "rate_hz",
                                        constants.RATE_HZ)))
    self._use_target_timing = reference_timing(data_cfg)
    self.num_train_pairs = int(_cfg(data_cfg, "num_train_pairs", 0))
    if self.num_train_pairs < 0:
      raise ConfigError(f"data.num_train_pairs={self.num_train_pairs}: "
                        f"expected >= 0 (0 = fresh pairs every step)")
    # Category pools are built once; drawing from them is cheap.
    self._pools = pairs_lib.category_pools(
        trials, self._pair_kwargs["near_threshold"],
        self._pair_kwargs["source_speeds"])
    self._pool = None
    self.pairs_from = str(_cfg(data_cfg, "pairs", "sample"))
    if self.pairs_from not in ("sample", "tfds"):
      raise ConfigError(f"data.pairs={self.pairs_from!r}: expected 'sample' "
                        f"(draw the training pairs here) or 'tfds' (read "
                        f"them from the gaitjax_pairs dataset)")
    if self.pairs_from == "tfds":
      # The fixed training set stored by pair_dataset.py (the same draw as
      # below for the same seed and balance; see there).
      from gaitjax.data import pair_dataset
      self._pool = pair_dataset.train_pool(data_cfg.data_dir,
                                           data_cfg.dataset, trials)
      self.num_train_pairs = len(self._pool)
    elif self.num_train_pairs:
      self._pool = pairs_lib.draw_from_pools(
          self._pools, self._rng(_POOL_STREAM), self.num_train_pairs,
          self._pair_kwargs["fractions"])
    else:  # check the fractions now rather than at the first step
      pairs_lib.draw_from_pools(self._pools, self._rng(0), 1,
                                self._pair_kwargs["fractions"])
    self._perm_cache: Dict[int, np.ndarray] = {}

  def _rng(self, *keys: int) -> np.random.Generator:
    return np.random.default_rng([self.seed, *keys])

  @property
  def pool(self) -> Optional[np.ndarray]:
    """[num_train_pairs, 2] the fixed training pairs (None: drawn per step)."""
    return self._pool

  @property
  def steps_per_epoch(self) -> float:
    """Steps per pass over the num_train_pairs pairs (inf if drawn fresh)."""
    if not self.num_train_pairs:
      return float("inf")
    return self.num_train_pairs / self.batch_size

  def _epoch_perm(self, epoch: int) -> np.ndarray:
    perm = self._perm_cache.get(epoch)
    if perm is None:
      perm = self._rng(_EPOCH_STREAM, epoch).permutation(self.num_train_pairs)
      if len(self._perm_cache) > 2:
        self._perm_cache.pop(min(self._perm_cache))
      self._perm_cache[epoch] = perm
    return perm

  def pairs(self, step: int) -> np.ndarray:
    """[B, 2] (src, tgt) trial indices of a step."""
    if step < 0:
      raise ValueError(f"step must be >= 0, got {step}")
    if self._pool is None:
      return pairs_lib.draw_from_pools(
          self._pools, self._rng(_STEP_STREAM, step, 0), self.batch_size,
          self._pair_kwargs["fractions"])
    flat = step * self.batch_size + np.arange(self.batch_size, dtype=np.int64)
    epoch, pos = np.divmod(flat, self.num_train_pairs)
    idx = np.empty_like(flat)
    for e in np.unique(epoch):
      at = epoch == e
      idx[at] = self._epoch_perm(int(e))[pos[at]]
    return self._pool[idx]

  def batch(self, step: int) -> Batch:
    """The batch of a step (see the module docstring for the layout)."""
    p = self.pairs(step)
    swap = None
    if self.swap_prob > 0:
      swap = self._rng(_STEP_STREAM, step, 1).random(self.batch_size) \
          < self.swap_prob
    return _assemble(self.trials, self.stats, self._refs, p[:, 0], p[:, 1],
                     swap, self.num_devices,
                     use_target_timing=self._use_target_timing)

  def state_dict(self, step: int) -> Dict[str, int]:
    """What a checkpoint needs to resume: the next step (and the seed)."""
    return {"step": int(step), "seed": self.seed}

  def restore_step(self, state: Dict[str, Any]) -> int:
    """The step to resume from; CheckpointError if the seed differs."""
    if int(state.get("seed", self.seed)) != self.seed:
      raise CheckpointError(f"data pipeline state has seed {state['seed']}, "
                            f"this run uses seed {self.seed}")
    return int(state["step"])


def fixed_pairs_batches(trials, pairs: np.ndarray, stats, template, data_cfg,
                        batch_size: int, num_devices: int = 1,
                        use_target_timing: Optional[bool] = None
                        ) -> Iterator[Batch]:
  """Every pair once, in order, padded to full batches (validation, test).

  Args:
    trials: TrialSet.
    pairs: [P, 2] (src, tgt) indices, e.g. pairs.within_subject_pairs(ts).
    stats, template, data_cfg, batch_size, num_devices: as PairSampler (no
      swap augmentation here).
    use_target_timing: None (validation) = as training batches
      (data.reference_timing, see ``reference_timing``), so the validation
      loss measures what training optimises; False when generating, where
      the target must not be looked at.

  Yields:
    Batches with two more keys: ``mask`` [D, B/D] bool (False = padding,
    which repeats the last real pair) and ``pair_index`` [D, B/D] int32 (row
    of ``pairs``, -1 for padding).
  """
  _check_devices(batch_size, num_devices)
  if use_target_timing is None:
    use_target_timing = reference_timing(data_cfg)
  pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
  refs = _References(str(_cfg(data_cfg, "reference", "source")), trials,
                     template, float(_cfg(data_cfg, "rate_hz",
                                          constants.RATE_HZ)))
  for start in range(0, len(pairs), batch_size):
    rows = np.arange(start, min(start + batch_size, len(pairs)))
    valid = np.ones(batch_size, bool)
    valid[len(rows):] = False
    rows = np.concatenate([rows, np.full(batch_size - len(rows), rows[-1])])
    batch = _assemble(trials, stats, refs, pairs[rows, 0], pairs[rows, 1],
                      None, num_devices, use_target_timing)
    batch["mask"] = _shard(valid, num_devices)
    batch["pair_index"] = _shard(np.where(valid, rows, -1).astype(np.int32),
                                 num_devices)
    yield batch


def num_fixed_batches(num_pairs: int, batch_size: int) -> int:
  """How many batches fixed_pairs_batches yields for num_pairs pairs."""
  return -(-int(num_pairs) // int(batch_size))


# ----------------------------------------------------------------- prefetch


class prefetch:  # noqa: N801  (reads like the function it replaces)
  """Computes make_batch(step) for the coming steps in a background thread.

  Iterates (step, batch) for step = start_step, start_step + 1, ... (up to
  num_steps items, or forever), keeping ``buffer_size`` batches ready. numpy
  releases the GIL in the gathers, so the train step and the next batch
  overlap. An exception in make_batch is raised by the consumer's next();
  ``close()`` (or leaving a ``with`` block) stops the thread.

    with pipeline.prefetch(sampler.batch, start_step) as batches:
      for step, batch in batches: ...
  """

  _DONE = object()

  def __init__(self, make_batch: Callable[[int], Any], start_step: int = 0,
               num_steps: Optional[int] = None, buffer_size: int = 2):
    self._queue: "queue.Queue" = queue.Queue(maxsize=max(1, buffer_size))
    self._stop = threading.Event()
    self._thread = threading.Thread(
        target=self._run, args=(make_batch, int(start_step), num_steps),
        daemon=True, name="gaitjax-prefetch")
    self._thread.start()

  def _put(self, item) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def _run(self, make_batch, start_step, num_steps):
    step = start_step
    try:
      while num_steps is None or step < start_step + num_steps:
        if self._stop.is_set() or not self._put((step, make_batch(step))):
          return
        step += 1
      self._put(self._DONE)
    except BaseException as e:  # handed to the consumer
      self._put(("error", e))

  def __iter__(self):
    return self

  def __next__(self):
    while True:
      try:
        item = self._queue.get(timeout=0.1)
        break
      except queue.Empty:
        if not self._thread.is_alive() and self._queue.empty():
          raise StopIteration from None
    if item is self._DONE:
      raise StopIteration
    if item[0] == "error":
      self.close()
      raise item[1]
    return item

  def close(self) -> None:
    self._stop.set()
    while True:
      try:
        self._queue.get_nowait()
      except queue.Empty:
        break
    self._thread.join(timeout=5.0)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
    return False


def fit_template(trials, rate_hz: float = constants.RATE_HZ):
  """reference.TemplateModel fit on a TrialSet (degrees)."""
  from gaitjax.data import reference
  return reference.TemplateModel.fit(trials.x, trials.speed, rate_hz=rate_hz,
                                     subject=trials.subject)
