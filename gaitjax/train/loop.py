"""The training loop: data -> pmapped steps -> logs, validation, checkpoints.

``train_and_evaluate(config, workdir)`` is the whole run and the only thing
launch/train.py calls. Re-running it in the same workdir resumes from the
latest checkpoint exactly: the state holds params, optimiser state and step;
batches are a pure function of (seed, step) (pipeline.PairSampler) and the
step keys are fold_in(base, step), so a resumed run sees the same batches
and noise as an uninterrupted one.

EMA (``train.ema_decay`` > 0): validation, and so the choice of the best
checkpoint, uses the EMA of the parameters (TrainState.eval_params(), what
generation samples with); the checkpoints hold both (checkpoint.py).

Fine-tuning: with ``config.train.init_from=<workdir>`` a run that has no
checkpoint of its own starts from the parameters of that run's best
checkpoint (latest if none is ranked; its EMA when it kept one, as
load_for_inference returns) -- not its optimiser state or step:
step 0, a fresh optimiser, this run's learning-rate schedule. The parameter
names and shapes must match this config's model. Once the run has saved a
checkpoint, re-running it resumes from its own checkpoints and ignores
init_from. Normalisation statistics and the template model come from this
run's dataset (``train.init_from_stats='finetune'``, the default) or from
the pretrained checkpoint (``'pretrained'``).

Files in the workdir::

  config.json       the config (written at every start)
  metrics.jsonl     one JSON object per logged / evaluated step
  init_from.json    fine-tuning only: the checkpoint the run started from
                    (path, step, sha256 of its parameters)
  checkpoints/      see checkpoint.py (latest + best validation step)
"""
import dataclasses
import json
import math
import os
import pathlib
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import jax
import ml_collections
import numpy as np
import tensorboardX
from absl import logging

from gaitjax import config_utils
from gaitjax import distributed
from gaitjax import files
from gaitjax.data import dataset as dataset_lib
from gaitjax.data import normalize
from gaitjax.data import pairs as pairs_lib
from gaitjax.data import pipeline
from gaitjax.data import reference
from gaitjax.data import regression
from gaitjax.errors import (CheckpointError, ConfigError, DataError,
                            TrainingError)
from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import state as state_lib
from gaitjax.train import step as step_lib
from gaitjax.train import tasks as tasks_lib

Batch = Dict[str, Any]
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
TENSORBOARD_DIR = "tb"           # TensorBoard event files (process 0)
INIT_FROM_FILE = "init_from.json"
INIT_FROM_STATS = ("finetune", "pretrained")
# Independent key streams of config.seed.
_INIT_STREAM, _TRAIN_STREAM, _EVAL_STREAM = 0, 1, 2


@dataclasses.dataclass
class TrainData:
  """What the loop needs from the data side (tests build it in memory).

  Attributes:
    sampler: ``.batch(step) -> Batch`` of numpy [D, B/D, ...] arrays, a pure
      function of the step (pipeline.PairSampler); optional
      ``.state_dict(step)`` / ``.restore_step(dict)``.
    val_batches: fixed validation batches [D, B/D, ...].
    stats: {'able_bodied': NormStats, optionally 'stroke': NormStats}.
    template: reference.TemplateModel (or its dict) or None.
    dataset: training dataset name (checkpoint metadata).
  """
  sampler: Any
  val_batches: Sequence[Batch]
  stats: Mapping[str, Any]
  template: Any = None
  dataset: str = ""


# ------------------------------------------------------------------- data


def host_rows() -> np.ndarray:
  """This process's rows of a global [jax.device_count(), ...] batch.

  The train step is pmapped over jax.devices(); a process feeds the rows of
  its local devices, in the order of their global axis index.
  """
  order = {d.id: i for i, d in enumerate(jax.devices())}
  return np.array([order[d.id] for d in jax.local_devices()], np.int64)


class HostRows:
  """The rows of a global-batch sampler that this process feeds.

  Every process draws the same global batch [D_global, B/D_global, ...]
  (the pipeline is a pure function of (seed, step)) and keeps its local
  devices' rows, so N processes see exactly the batches one process with
  all N x D devices would. Drawing the whole batch on every host costs
  little at these batch sizes (16-64 pairs).
  """

  def __init__(self, sampler: Any, rows: np.ndarray):
    self.sampler = sampler
    self.rows = np.asarray(rows)

  def batch(self, step: int) -> Batch:
    return take_rows(self.sampler.batch(step), self.rows)

  def __getattr__(self, name: str):  # state_dict, restore_step, ...
    return getattr(self.sampler, name)


def take_rows(batch: Mapping[str, Any], rows: np.ndarray) -> Batch:
  return {k: np.asarray(v)[rows] for k, v in batch.items()}


def load_train_data(config: ml_collections.ConfigDict,
                    num_devices: int, *,
                    stats: Optional[Mapping[str, Any]] = None,
                    template: Any = None) -> TrainData:
  """Train/validation splits, stats and template of config.data.dataset.

  The global batch B is split over all devices of all processes; this
  process's sampler yields its devices' rows as [num_devices,
  B / jax.device_count(), ...] (see HostRows).

  Args:
    config: the run's config.
    num_devices: local devices (the sampler's leading axis).
    stats: normalisation statistics to use instead of the dataset's
      ({'able_bodied': NormStats, ...}; fine-tuning with
      train.init_from_stats='pretrained').
    template: a TemplateModel (or its dict) to use instead of fitting one
      on the training split (same case).
  """
  # pylint: disable=g-import-not-at-top
  data_cfg = config.data
  data_dir, name = data_cfg.data_dir, data_cfg.dataset
  train = dataset_lib.load_split(data_dir, name, "train")
  val = dataset_lib.load_split(data_dir, name, "validation")
  if stats is not None:
    stats = dict(stats)
  else:
    stats = {"able_bodied": dataset_lib.load_stats(data_dir, name)}
    eval_name = data_cfg.get("eval_dataset", "")
    if eval_name and eval_name != name:
      try:
        stats["stroke"] = dataset_lib.load_stats(data_dir, eval_name)
      except DataError as e:
        logging.info("stroke statistics not saved with the checkpoints: %s",
                     e)
  if template is not None:
    if not hasattr(template, "to_dict"):
      template = regression.model_from_dict(template)
    if (data_cfg.reference == "regression"
        and not hasattr(template, "predict_cycles")):
      raise ConfigError(
          "data.reference='regression' with train.init_from_stats="
          "'pretrained': the init_from checkpoint carries a cycle template, "
          "not a cycle regression; pretrain with data.reference="
          "'regression', or fine-tune with the prior's reference or with "
          "init_from_stats='finetune' (refits on this run's data)")
  elif data_cfg.reference == "regression":
    template = regression.fit(train, rate_hz=float(data_cfg.rate_hz))
  else:
    try:
      template = reference.TemplateModel.fit(train.x, train.speed,
                                             rate_hz=float(data_cfg.rate_hz),
                                             subject=train.subject)
    except DataError as e:
      if data_cfg.reference != "source":
        raise
      logging.warning("no template model (%s); data.reference='source' does"
                      " not need one", e)
      template = None
  batch_size = int(config.train.batch_size)
  # One process: num_devices rows. Several: every process draws the global
  # batch over all processes' devices and keeps its own rows.
  global_devices = num_devices * jax.process_count()
  sampler = pipeline.PairSampler(train, stats["able_bodied"], template,
                                 data_cfg, batch_size, global_devices,
                                 seed=int(config.seed))
  val_pairs = validation_pairs(pairs_lib.within_subject_pairs(val),
                               int(config.train.num_val_batches) * batch_size,
                               seed=int(config.seed))
  val_batches = list(pipeline.fixed_pairs_batches(
      val, val_pairs, stats["able_bodied"], template, data_cfg, batch_size,
      global_devices))
  if jax.process_count() > 1:
    rows = (host_rows() if num_devices == jax.local_device_count() else
            jax.process_index() * num_devices + np.arange(num_devices))
    sampler = HostRows(sampler, rows)
    val_batches = [take_rows(b, rows) for b in val_batches]
  logging.info("data: %d train trials (%d subjects), %d validation trials "
               "(%d subjects), %d validation pairs in %d batches",
               len(train), train.num_subjects, len(val), val.num_subjects,
               len(val_pairs), len(val_batches))
  return TrainData(sampler=sampler, val_batches=val_batches, stats=stats,
                   template=template, dataset=name)


def validation_pairs(pairs: np.ndarray, num: int, seed: int) -> np.ndarray:
  """A fixed random subset of num pairs (all if fewer), in sorted order.

  A random subset rather than the first rows, so that every validation
  subject is represented.
  """
  pairs = np.asarray(pairs).reshape(-1, 2)
  if len(pairs) == 0:
    raise DataError("the validation split has no within-subject pairs")
  if len(pairs) <= num:
    return pairs
  keep = np.random.default_rng([seed, 7]).choice(len(pairs), num,
                                                 replace=False)
  return pairs[np.sort(keep)]


# ---------------------------------------------------------------- logging


# Shown on the one console line of a log step; the rest go to DEBUG.
HEADLINE_METRICS: Tuple[str, ...] = ("loss", "val_loss")


def format_step_line(step: int, metrics: Mapping[str, float],
                     progress: str = "") -> str:
  """'[step] loss = 0.123, val_loss = 0.145 | 40/100 steps, 2.1 steps/s,
  elapsed 0:00:19, ETA 0:00:28': the metrics that matter, one line."""
  shown = [f"{k} = {float(metrics[k]):.4g}" for k in HEADLINE_METRICS
           if k in metrics]
  head = f"[{step}] " + (", ".join(shown) or "-")
  return f"{head} | {progress}" if progress else head


class MetricsWriter:
  """metrics.jsonl (one JSON object per line), TensorBoard event files in
  ``workdir/tb`` (tensorboardX: no TensorFlow needed) and one log line per
  logged step (every metric at DEBUG)."""

  def __init__(self, workdir: pathlib.Path, enabled: bool = True):
    self.path = workdir / METRICS_FILE
    self.enabled = enabled
    self._tb = (tensorboardX.SummaryWriter(str(workdir / TENSORBOARD_DIR))
                if enabled else None)

  def truncate_after(self, step: int) -> None:
    """Drops lines of steps > step (a resumed run rewrites them)."""
    if not self.enabled or not self.path.exists():
      return
    kept = []
    for line in self.path.read_text().splitlines():
      try:
        if int(json.loads(line)["step"]) <= step:
          kept.append(line)
      except (ValueError, KeyError, TypeError):
        continue  # a torn last line after a crash
    files.atomic_write_text(self.path, "".join(k + "\n" for k in kept))

  def write(self, step: int, metrics: Mapping[str, float],
            progress: str = "") -> None:
    """Logs and records ``metrics`` (scalars) of ``step``; ``progress`` is
    the step count / rate / ETA text of the console line."""
    logging.info("%s", format_step_line(step, metrics, progress))
    logging.debug("[%d] %s", step, ", ".join(
        f"{k} = {float(metrics[k]):.6g}" for k in sorted(metrics)))
    if not self.enabled:
      return
    for name in sorted(metrics):
      value = float(metrics[name])
      if math.isfinite(value):
        self._tb.add_scalar(name, value, int(step))
    self._tb.flush()
    record = {"step": int(step)}
    record.update({k: _json_float(v) for k, v in metrics.items()})
    with open(self.path, "a") as f:
      f.write(json.dumps(record, sort_keys=True) + "\n")

  def close(self) -> None:
    """Writes out every queued TensorBoard event (tensorboardX writes them
    from a thread: flush() alone does not wait for the queue)."""
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def _json_float(v: float):
  v = float(v)
  return v if math.isfinite(v) else str(v)


def _mean_metrics(rows: Sequence[Mapping[str, float]]) -> Dict[str, float]:
  if not rows:
    return {}
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _check_finite(pending: List[Tuple[int, Any]], latest: Optional[str]
                  ) -> List[Dict[str, float]]:
  """Host metrics of the pending steps; TrainingError at the first bad loss."""
  host = jax.device_get([m for _, m in pending])
  rows = []
  for (step, _), m in zip(pending, host):
    row = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in m.items()}
    if not math.isfinite(row["loss"]):
      raise TrainingError(
          f"non-finite loss ({row['loss']}) at step {step}; stopped without "
          f"saving it. Last good checkpoint: {latest or 'none'}")
    rows.append(row)
  return rows


# -------------------------------------------------------------------- run


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       data: Optional[TrainData] = None,
                       task: Optional[tasks_lib.Task] = None
                       ) -> Dict[str, float]:
  """Trains config's model in workdir (resuming if it holds a checkpoint).

  Args:
    config: experiment config (configs/default.py layout).
    workdir: output folder (created).
    data: data to train on; None = load config.data.dataset from
      config.data.data_dir (tests pass in-memory data).
    task: the model; None = tasks.get_task(config).
  Returns:
    Final metrics: step, val_loss (and the other val_* terms), the last
    logged training metrics, steps_per_s, best_step, best_val_loss,
    wall_s (floats).
  Raises:
    ConfigError, DataError, CheckpointError: user-fixable problems.
    TrainingError: a non-finite loss (the last good checkpoint is kept).
  """
  t_start = time.monotonic()
  # launch/train.py has already joined a multi-process run given by flags or
  # the environment; num_hosts > 1 alone lets JAX detect the cluster.
  num_hosts = int(config.train.get("num_hosts", 1))
  distributed.initialize(auto=num_hosts > 1)
  if num_hosts > 1 and jax.process_count() != num_hosts:
    raise ConfigError(f"config.train.num_hosts={num_hosts}, but this run has"
                      f" {jax.process_count()} process(es)")
  config_utils.validate_config(
      config, extra_model_names=tasks_lib.registered_names())
  devices = jax.local_devices()
  num_devices = len(devices)
  is_chief = jax.process_index() == 0
  workdir = pathlib.Path(os.fspath(workdir)).absolute()
  workdir.mkdir(parents=True, exist_ok=True)
  if is_chief:
    files.atomic_write_text(workdir / CONFIG_FILE,
                       config_utils.config_to_json(config) + "\n")

  task = task or tasks_lib.get_task(config)
  ckpt = ckpt_lib.Checkpointer(workdir / ckpt_lib.CHECKPOINT_DIR)
  try:
    # Before any data is read: a bad init_from fails in seconds.
    init_from = _prepare_init_from(config, task, ckpt)
    if data is None:
      data = load_train_data(
          config, num_devices,
          stats=init_from.stats if init_from is not None else None,
          template=init_from.template if init_from is not None else None)
    elif init_from is not None and init_from.stats is not None:
      data = dataclasses.replace(data, stats=init_from.stats,
                                 template=init_from.template)
    if not data.val_batches:
      raise DataError("no validation batches: the validation split is empty")
    return _train(config, workdir, data, task, ckpt, init_from, t_start,
                  devices, is_chief)
  finally:
    ckpt.close()


def _train(config, workdir, data, task, ckpt, init_from, t_start, devices,
           is_chief) -> Dict[str, float]:
  """train_and_evaluate once the data and the checkpointer are there."""
  num_devices = len(devices)
  root = jax.random.PRNGKey(int(config.seed))
  init_rng = jax.random.fold_in(root, _INIT_STREAM)
  train_rng = jax.random.fold_in(root, _TRAIN_STREAM)
  eval_rng = jax.random.fold_in(root, _EVAL_STREAM)
  example = jax.tree.map(lambda x: np.asarray(x)[0], data.sampler.batch(0))
  replicated = ckpt_lib.replicated_sharding(devices)
  batch_sharding = jax.sharding.NamedSharding(
      replicated.mesh, jax.sharding.PartitionSpec(step_lib.AXIS))

  writer = MetricsWriter(workdir, enabled=is_chief)
  prefetcher = None
  try:
    state, start_step, provenance = _initial_state(
        config, task, example, init_rng, ckpt, data, replicated, init_from)
    if init_from is not None and init_from.params is not None and is_chief:
      files.atomic_write_text(workdir / INIT_FROM_FILE,
                         json.dumps(provenance, indent=2, sort_keys=True)
                         + "\n")
    writer.truncate_after(start_step)
    num_steps = int(config.train.num_steps)
    logging.info("model %s: %s parameters; %d device(s) in %d process(es);"
                 " steps %d -> %d", task.name,
                 f"{state_lib.param_count(state.params):,}",
                 jax.device_count(), jax.process_count(), start_step,
                 num_steps)

    # Over every process's devices: gradients are averaged across processes.
    step_devices = jax.devices() if jax.process_count() > 1 else devices
    p_train = step_lib.make_train_step(task, train_rng, step_devices)
    p_eval = step_lib.make_eval_step(task, step_devices)
    val_batches = [jax.device_put(_device_batch(b), batch_sharding)
                   for b in data.val_batches]

    # With train.ema_decay > 0 validation (and so the best checkpoint) uses
    # the EMA: the parameters generation samples with.
    def evaluate(params) -> Dict[str, float]:
      rows = [step_lib.unreplicate_metrics(
          p_eval(params, b, jax.random.fold_in(eval_rng, i)))
              for i, b in enumerate(val_batches)]
      return {f"val_{k}": v for k, v in _mean_metrics(rows).items()}

    def save(step: int, val: Mapping[str, float]) -> None:
      sampler_state = (data.sampler.state_dict(step)
                       if hasattr(data.sampler, "state_dict")
                       else {"step": step})
      # Every process calls save (orbax coordinates them; process 0 writes
      # the replicated arrays and the JSON items).
      ckpt.save(ckpt_lib.global_replicated(state), step=step,
                val_loss=val["val_loss"], config=config,
                stats=data.stats, template=data.template,
                pipeline=sampler_state, dataset=data.dataset,
                extra_metadata=({"init_from": provenance} if provenance
                                else None))
      logging.info("[%d] saved checkpoint %s (val_loss %.6g)", step,
                   ckpt.step_path(step), val["val_loss"])

    log_every = int(config.train.log_every)
    eval_every = int(config.train.eval_every)
    ckpt_every = int(config.train.checkpoint_every)
    max_s = float(config.train.max_minutes) * 60.0
    final: Dict[str, float] = {}
    done = start_step
    if start_step >= num_steps:
      logging.info("nothing to train: the checkpoint is at step %d of %d",
                   start_step, num_steps)
      final.update(evaluate(state.eval_params()))

    pending: List[Tuple[int, Any]] = []   # (step, device metrics)
    window: List[Dict[str, float]] = []   # host metrics since the last log
    last_log = (time.monotonic(), start_step)
    paused = 0.0                          # eval/save seconds since last log
    prefetcher = _prefetch(lambda s: jax.device_put(
        _device_batch(data.sampler.batch(s)), batch_sharding),
                           start_step, num_steps - start_step)
    for step, batch in prefetcher:
      state, metrics = p_train(state, batch)
      done = step + 1
      pending.append((done, metrics))
      timed_out = max_s > 0 and time.monotonic() - t_start > max_s
      last = done == num_steps or timed_out
      is_log = done % log_every == 0 or last
      is_ckpt = done % ckpt_every == 0 or last
      is_eval = done % eval_every == 0 or is_ckpt
      if not (is_log or is_eval):
        continue
      # Before anything is logged or saved: every pending loss is finite.
      window += _check_finite(pending, _latest_path(ckpt))
      pending = []
      record: Dict[str, float] = {}
      if is_log:
        now = time.monotonic()
        rate = (done - last_log[1]) / max(now - last_log[0] - paused, 1e-9)
        last_log, paused = (now, done), 0.0
        record.update(_mean_metrics(window))
        record["steps_per_s"] = rate
        window = []
        progress = _progress_text(done, num_steps, rate, t_start, max_s)
      else:
        progress = ""
      t_pause = time.monotonic()
      if is_eval:
        record.update(evaluate(state.eval_params()))
      writer.write(done, record, progress)
      final.update(record)
      if is_ckpt:
        save(done, record)
      # steps/s counts training only, not validation and saving.
      paused += time.monotonic() - t_pause
      if timed_out:
        logging.info("[%d] stopping: train.max_minutes=%g reached", done,
                     config.train.max_minutes)
        break
    ckpt.wait()
    final["step"] = float(done)
    best = ckpt.best_step()
    if best is not None:
      final["best_step"] = float(best)
      best_val = ckpt.val_loss(best)
      if best_val is not None:
        final["best_val_loss"] = best_val
    final["wall_s"] = time.monotonic() - t_start
    return final
  finally:
    if prefetcher is not None:
      prefetcher.close()
    writer.close()


@dataclasses.dataclass(frozen=True)
class InitFrom:
  """Where a fine-tuning run starts (config.train.init_from).

  Attributes:
    params: the pretrained parameters (None when the run resumes from its
      own checkpoint instead).
    record: provenance {'init_from', 'path', 'step', 'sha256', 'stats';
      'params': 'ema_params' when the prior's EMA was taken}
      (None when resuming: it is read back from the run's checkpoint).
    stats, template: what to normalise with and the template model when
      train.init_from_stats='pretrained'; None = this run's dataset's.
  """
  params: Any
  record: Optional[Dict[str, Any]]
  stats: Optional[Dict[str, Any]] = None
  template: Optional[Dict[str, Any]] = None


def _prepare_init_from(config: ml_collections.ConfigDict,
                       task: tasks_lib.Task,
                       ckpt: ckpt_lib.Checkpointer) -> Optional[InitFrom]:
  """Reads config.train.init_from's parameters (fresh runs only).

  Raises:
    ConfigError: a bad train.init_from_stats.
    CheckpointError: init_from missing, holding no readable checkpoint, or
      parameters whose names/shapes differ from this config's model (one
      line naming the first differing parameter).
  """
  source = str(config.train.get("init_from", "") or "")
  if not source:
    return None
  mode = str(config.train.get("init_from_stats", "finetune"))
  if mode not in INIT_FROM_STATS:
    raise ConfigError(f"config.train.init_from_stats must be one of "
                      f"{', '.join(INIT_FROM_STATS)}; got {mode!r}")
  if ckpt.latest_step() is not None:
    logging.info("train.init_from=%s is not used: the run resumes from its "
                 "own checkpoint", source)
    if mode != "pretrained":
      return InitFrom(params=None, record=None)
    # The statistics the run was started with are saved in its checkpoints.
    items = ckpt.read_json_items(("stats", "template"))
    return InitFrom(params=None, record=None,
                    stats={k: normalize.NormStats.from_dict(v)
                           for k, v in items["stats"].items()},
                    template=items["template"] or None)
  try:
    bundle = ckpt_lib.load_for_inference(source, "best", config=config)
  except CheckpointError as e:
    raise CheckpointError(f"config.train.init_from={source}: {e}") from None
  record = {"init_from": source, "path": bundle.path,
            "step": int(bundle.step), "sha256": bundle.checksum,
            "stats": mode}
  if bundle.params_kind != "params":  # (records of EMA-less priors as before)
    record["params"] = bundle.params_kind
  logging.info("fine-tuning from %s (step %d, %s sha256 %s...); "
               "normalisation statistics and template from the %s data",
               bundle.path, bundle.step, bundle.params_kind,
               bundle.checksum[:12],
               "pretraining" if mode == "pretrained" else "fine-tuning")
  if mode == "pretrained":
    return InitFrom(params=bundle.params, record=record,
                    stats=dict(bundle.stats), template=bundle.template)
  return InitFrom(params=bundle.params, record=record)


def _initial_state(config, task, example, init_rng, ckpt, data, replicated,
                   init_from: Optional[InitFrom] = None
                   ) -> Tuple[Any, int, Optional[Dict[str, Any]]]:
  """A fresh state at step 0, or the latest readable checkpoint's.

  Returns:
    (state, step, init_from provenance or None).
  """
  if ckpt.latest_step() is None:
    pretrained = init_from.params if init_from is not None else None
    if pretrained is not None:
      # The pretrained parameters through create_train_state, so that
      # whatever else the state holds (optimiser, ...) is built from them.
      def create(rng, ex, params):
        return state_lib.create_train_state(
            rng, config,
            dataclasses.replace(task, init_params=lambda r, e: params), ex)
      init = jax.jit(create, out_shardings=replicated)
      return init(init_rng, example, pretrained), 0, init_from.record
    # jit: an eager flax init dispatches op by op (seconds for a BiLSTM).
    init = jax.jit(lambda rng, ex: state_lib.create_train_state(
        rng, config, task, ex), out_shardings=replicated)
    return init(init_rng, example), 0, None
  abstract = ckpt_lib.abstract_train_state(config, task, example, replicated)
  restored = ckpt.restore(abstract)
  step = int(restored.state.step)
  pipeline_state = restored.pipeline
  if hasattr(data.sampler, "restore_step"):
    data_step = data.sampler.restore_step(pipeline_state)
  else:
    data_step = int(pipeline_state.get("step", -1))
  if data_step != step:
    raise CheckpointError(f"checkpoint {restored.path}: data pipeline step "
                          f"{data_step} != train state step {step}")
  _warn_config_changes(restored.config, config)
  logging.info("resuming from %s (step %d)", restored.path, step)
  return restored.state, step, restored.metadata.get("init_from")


def _warn_config_changes(saved: Mapping[str, Any],
                         config: ml_collections.ConfigDict) -> None:
  now = _flatten(config_utils.config_to_dict(config))
  before = _flatten(saved)
  changed = sorted(k for k in set(now) | set(before)
                   if now.get(k) != before.get(k))
  if changed:
    logging.warning("resuming with a config that differs from the "
                    "checkpoint's in %s", ", ".join(changed[:8]))


def _flatten(d: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, Mapping):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def _latest_path(ckpt: ckpt_lib.Checkpointer) -> Optional[str]:
  step = ckpt.latest_step()
  return None if step is None else ckpt.step_path(step)


def _device_batch(batch: Mapping[str, Any]) -> Dict[str, np.ndarray]:
  """Only numeric arrays go to the devices."""
  return {k: np.asarray(v) for k, v in batch.items()
          if np.asarray(v).dtype.kind in "biuf"}


def _progress_text(done: int, num_steps: int, rate: float, t_start: float,
                   max_s: float) -> str:
  """'done/num_steps steps, rate steps/s, elapsed h:mm:ss, ETA h:mm:ss'."""
  elapsed = time.monotonic() - t_start
  eta = (num_steps - done) / rate if rate > 0 else float("inf")
  if max_s > 0:
    eta = min(eta, max(0.0, max_s - elapsed))
  return (f"{done}/{num_steps} steps, {rate:.2f} steps/s, elapsed "
          f"{_hms(elapsed)}, ETA {_hms(eta)}")


def _hms(seconds: float) -> str:
  if not math.isfinite(seconds):
    return "?"
  s = int(seconds)
  return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _prefetch(make_batch, start_step: int, num_items: int):
  """Background-thread batches (pipeline.prefetch)."""
  return pipeline.prefetch(make_batch, start_step, max(0, num_items))
