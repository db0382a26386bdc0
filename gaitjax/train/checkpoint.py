"""Orbax checkpoints: the latest step (to resume) and the best (to use).

Layout (one orbax step folder per saved step)::

  <workdir>/checkpoints/<step>/
    state/     TrainState (step, params, opt_state, ema_params: the
               parameter EMA when train.ema_decay > 0, else None),
               StandardSave (OCDBT)
    config/    the run's config.to_dict()                        (JSON)
    stats/     {'able_bodied': NormStats dict, 'stroke': ... }    (JSON)
    template/  reference.TemplateModel.to_dict() or {}            (JSON)
    pipeline/  {'step': n, 'seed': s}: the data position          (JSON)
    metadata/  gaitjax / jax versions, dataset, val_loss          (JSON)
    metrics/   {'val_loss': v} (orbax's, ranks the best step)

Two steps survive: the newest and the one with the lowest validation loss
(an AnyPreservationPolicy of LatestN(1) and BestN(reverse=True), see
../shared/JAX_NOTES.md: ``best_fn`` with ``max_to_keep`` alone deletes the
latest step). A step that fails to read (deleted or truncated file) is
skipped with a warning naming it, and the next newer-to-older step is used.

EMA (train.ema_decay > 0): the validation loss that ranks a step is that of
the EMA parameters, and ``load_for_inference`` returns them by default
(``params='auto'``: the EMA wherever the step holds one, so checkpoints
saved without EMA load exactly as before; 'ema' / 'raw' force a choice).
"""
import dataclasses
import gc
import hashlib
import os
import pathlib
import shutil
import sys
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp

import gaitjax
from gaitjax import config_utils
from gaitjax.errors import CheckpointError
from gaitjax.train import state as state_lib
from gaitjax.train import tasks as tasks_lib

CHECKPOINT_DIR = "checkpoints"
DAMAGED_DIR = "damaged_checkpoints"
METRIC = "val_loss"
# load_for_inference(params=...): which parameters to return.
PARAMS_CHOICES: Tuple[str, ...] = ("auto", "ema", "raw")
JSON_ITEMS: Tuple[str, ...] = ("config", "stats", "template", "pipeline",
                               "metadata")
ITEMS: Tuple[str, ...] = ("state",) + JSON_ITEMS
# What a damaged step raises while being read: tensorstore's ValueError
# (NOT_FOUND / DATA_LOSS / OUT_OF_RANGE), FileNotFoundError, JSON errors
# (ValueError), orbax's KeyError / TypeError on a broken tree.
_READ_ERRORS = (ValueError, OSError, KeyError, TypeError, RuntimeError,
                AttributeError)


class _QuietOrbax:
  """Drops orbax's INFO lines (a dozen per save) from the absl log, and its
  warnings that a read-only manager is read-only."""

  def filter(self, record) -> bool:
    if "/orbax/" not in getattr(record, "pathname", ""):
      return True
    if record.levelno < 30:  # below WARNING
      return False
    msg = str(record.msg)
    return not ("read_only=True" in msg or "is read only" in msg)


logging.get_absl_logger().addFilter(_QuietOrbax())


def _metric(metrics: Mapping[str, float]) -> float:
  return float(metrics[METRIC])


def _handlers(read_only: bool) -> Dict[str, ocp.CheckpointHandler]:
  # Same on-disk format; the PyTree handler can also restore a subtree
  # (params without the optimiser state) for inference.
  out: Dict[str, ocp.CheckpointHandler] = {
      "state": (ocp.PyTreeCheckpointHandler() if read_only
                else ocp.StandardCheckpointHandler())}
  out.update({k: ocp.JsonCheckpointHandler() for k in JSON_ITEMS})
  return out


@dataclasses.dataclass(frozen=True)
class Restored:
  """One restored step: the state and the JSON items beside it."""
  state: Any
  step: int
  config: Dict[str, Any]
  stats: Dict[str, Dict[str, Any]]
  template: Optional[Dict[str, Any]]
  pipeline: Dict[str, Any]
  metadata: Dict[str, Any]
  path: str


class Checkpointer:
  """An orbax CheckpointManager over ``directory`` with our items.

  Args:
    directory: the checkpoints folder (``<workdir>/checkpoints``).
    read_only: for inference; never creates, deletes or moves anything.
    async_save: save in a background thread (``wait()`` before exit).
  """

  def __init__(self, directory: Union[str, os.PathLike], *,
               read_only: bool = False, async_save: bool = True):
    self.directory = pathlib.Path(os.fspath(directory)).absolute()
    self.read_only = read_only
    if read_only and not self.directory.is_dir():
      raise CheckpointError(f"checkpoint folder {self.directory} does not "
                            f"exist")
    policy = pp.AnyPreservationPolicy([
        pp.LatestN(1),
        pp.BestN(get_metric_fn=_metric, reverse=True, n=1)])
    options = ocp.CheckpointManagerOptions(
        best_fn=_metric, best_mode="min", preservation_policy=policy,
        create=not read_only, read_only=read_only,
        enable_async_checkpointing=async_save,
        cleanup_tmp_directories=not read_only)
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_handlers=_handlers(read_only))

  # --------------------------------------------------------------- queries
  def all_steps(self) -> List[int]:
    return sorted(self._manager.all_steps())

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def best_step(self) -> Optional[int]:
    return self._manager.best_step()

  def val_loss(self, step: int) -> Optional[float]:
    """The validation loss a step was saved with (None if unreadable)."""
    try:
      metrics = self._manager.metrics(step)
      return None if metrics is None else float(metrics[METRIC])
    except _READ_ERRORS:
      return None

  def step_path(self, step: int) -> str:
    return str(self.directory / str(step))

  # ------------------------------------------------------------------ save
  def save(self, state: Any, *, step: int, val_loss: float,
           config: ml_collections.ConfigDict,
           stats: Mapping[str, Any], template: Optional[Mapping[str, Any]],
           pipeline: Mapping[str, Any], dataset: str = "",
           extra_metadata: Optional[Mapping[str, Any]] = None) -> bool:
    """Saves one step (asynchronously); False if that step already exists.

    Args:
      state: TrainState (global arrays, e.g. a pmapped step's output).
      step: the step number (= int(state.step)).
      val_loss: validation loss of ``state``; ranks the best step.
      config: the run's config.
      stats: {'able_bodied': NormStats | dict, optionally 'stroke': ...}.
      template: TemplateModel.to_dict() (or the model itself) or None.
      pipeline: the data pipeline's position, e.g. {'step': step}.
      dataset: training dataset name (metadata).
      extra_metadata: more JSON-able entries for the metadata item (e.g.
        {'init_from': provenance} of a fine-tuning run).
    """
    if self.read_only:
      raise CheckpointError(f"{self.directory} was opened read-only")
    if step in self._manager.all_steps():
      return False
    val_loss = float(val_loss)
    if not np.isfinite(val_loss):
      val_loss = float("inf")  # never the best, still the latest
    metadata = {"gaitjax_version": gaitjax.__version__,
                "jax_version": jax.__version__, "dataset": dataset,
                "step": int(step), METRIC: val_loss,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    metadata.update(_plain(dict(extra_metadata or {})))
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        config=ocp.args.JsonSave(config_utils.config_to_dict(config)),
        stats=ocp.args.JsonSave(_stats_to_json(stats)),
        template=ocp.args.JsonSave(_template_to_json(template)),
        pipeline=ocp.args.JsonSave(_plain(dict(pipeline))),
        metadata=ocp.args.JsonSave(metadata))
    return bool(self._manager.save(step, args=args,
                                   metrics={METRIC: val_loss}))

  def wait(self) -> None:
    """Blocks until pending async saves are on disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  # --------------------------------------------------------------- restore
  def read_config(self, step: int) -> Dict[str, Any]:
    """The config dict saved with ``step`` (reads only that item)."""
    out = self._manager.restore(
        step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
    return dict(out.config)

  def read_json_items(self, names: Iterable[str],
                      step: Optional[int] = None) -> Dict[str, Any]:
    """JSON items (e.g. 'stats', 'template') of ``step`` (default: the
    newest readable step; older steps are tried if one fails to read).

    Raises:
      CheckpointError: no checkpoint, or none whose items read.
    """
    names = tuple(names)
    steps = [int(step)] if step is not None else self.all_steps()[::-1]
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}")
    reason = ""
    for s in steps:
      try:
        out = self._manager.restore(s, args=ocp.args.Composite(
            **{k: ocp.args.JsonRestore() for k in names}))
        return {k: out[k] for k in names}
      except _READ_ERRORS as e:
        reason = _one_line(e)
    raise CheckpointError(f"cannot read {', '.join(names)} from "
                          f"{self.directory} ({reason})")

  def check_compatible(self, step: int, abstract_state: Any) -> None:
    """CheckpointError if the saved params' names/shapes differ.

    Raises:
      CheckpointError: a mismatch (one line, the first differing parameter).
      Other exceptions: the step's metadata is unreadable (damaged).
    """
    tree = self._state_metadata(step)
    key = _params_key(abstract_state)
    where = self.step_path(step)
    if tree.get(key) is None:  # ema_params of a run trained without EMA
      raise CheckpointError(f"checkpoint {where} holds no EMA parameters "
                            f"(trained with train.ema_decay=0)")
    saved = _shapes(tree[key])
    wanted = _shapes(_params_of(abstract_state))
    for name in sorted(set(saved) | set(wanted)):
      if name not in saved:
        raise CheckpointError(f"checkpoint {where} does not match the config:"
                              f" it has no parameter {name} (was "
                              f"config.model changed?)")
      if name not in wanted:
        raise CheckpointError(f"checkpoint {where} does not match the config:"
                              f" parameter {name} is not in the model built "
                              f"from the config (was config.model changed?)")
      if saved[name] != wanted[name]:
        raise CheckpointError(f"checkpoint {where} does not match the config:"
                              f" {name} has shape {saved[name]} in the "
                              f"checkpoint, {wanted[name]} from the config")

  def _state_metadata(self, step: int) -> Dict[str, Any]:
    """The saved state's tree of orbax array metadata (no array is read)."""
    meta = self._manager.item_metadata(step)["state"]
    return getattr(meta, "tree", meta)

  def has_ema(self, step: int) -> bool:
    """Whether ``step`` holds EMA parameters (saved with ema_decay > 0).

    Raises:
      Exceptions of _READ_ERRORS: the step's metadata is unreadable.
    """
    return self._state_metadata(step).get("ema_params") is not None

  def restore_step(self, step: int, abstract_state: Any) -> Restored:
    """Restores one step exactly (no fallback); errors propagate.

    abstract_state: a TrainState of ShapeDtypeStructs, or (read-only
    checkpointers) {'params': ...} / {'ema_params': ...} to read those
    parameters alone. A TrainState whose EMA presence differs from the
    step's (train.ema_decay changed between save and resume) is restored
    as saved, then given the wanted EMA (see _with_wanted_ema).
    """
    self.check_compatible(step, abstract_state)
    target = abstract_state
    if _is_train_state(abstract_state):
      target = _ema_target(abstract_state, self.has_ema(step))
    if self.read_only:
      state_args = ocp.args.PyTreeRestore(
          target,
          restore_args=ocp.checkpoint_utils.construct_restore_args(target),
          partial_restore=isinstance(target, Mapping))
    else:
      state_args = ocp.args.StandardRestore(target)
    args = ocp.args.Composite(
        state=state_args,
        **{k: ocp.args.JsonRestore() for k in JSON_ITEMS})
    out = self._manager.restore(step, args=args)
    template = out.template or None
    state = out.state
    if target is not abstract_state:
      state = _with_wanted_ema(state, abstract_state, self.step_path(step))
    return Restored(state=state, step=int(step), config=dict(out.config),
                    stats=dict(out.stats), template=template,
                    pipeline=dict(out.pipeline),
                    metadata=dict(out.metadata), path=self.step_path(step))

  def restore(self, abstract_state: Any, step: Optional[int] = None, *,
              fallback: bool = True) -> Restored:
    """Restores ``step`` (default: the latest), skipping damaged steps.

    Args:
      abstract_state: jax.eval_shape of the state (ShapeDtypeStructs, with
        the sharding the arrays should land on).
      step: the step to try first; None = the latest.
      fallback: on a damaged step, warn and try the other steps, newest
        first. With fallback=False a damaged step raises CheckpointError.
    Raises:
      CheckpointError: no checkpoint, none readable, or a config mismatch.
    """
    steps = self.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}")
    first = steps[-1] if step is None else int(step)
    if first not in steps:
      raise CheckpointError(f"no step {first} in {self.directory} (it has "
                            f"{', '.join(map(str, steps))})")
    order = [first] + ([s for s in reversed(steps) if s != first]
                       if fallback else [])
    for s in order:
      reason = None
      try:
        restored = self.restore_step(s, abstract_state)
      except CheckpointError:
        raise
      except Exception as e:  # pylint: disable=broad-except
        # orbax re-raises tensorstore's read errors as a bare Exception.
        cause = _read_error_in_chain(e)
        if cause is None:
          raise
        reason = _one_line(cause)
        del cause
      if reason is not None:
        _collect_quietly()
        if not fallback:
          raise CheckpointError(f"checkpoint {self.step_path(s)} is damaged: "
                                f"{reason}") from None
        logging.warning("checkpoint %s is damaged and is skipped (%s)",
                        self.step_path(s), reason)
        self._set_aside(s)
        continue
      if s != first:
        logging.warning("restored step %d from %s instead of step %d", s,
                        restored.path, first)
      return restored
    raise CheckpointError(f"no readable checkpoint in {self.directory} "
                          f"(tried steps {', '.join(map(str, order))})")

  def _set_aside(self, step: int) -> None:
    """Moves a damaged step out of the way so the run can save it again."""
    if self.read_only or jax.process_index() != 0:
      return
    src = self.directory / str(step)
    dst_root = self.directory.parent / DAMAGED_DIR
    dst = dst_root / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
      dst_root.mkdir(parents=True, exist_ok=True)
      shutil.move(str(src), str(dst))
      logging.warning("moved damaged checkpoint %s to %s", src, dst)
    except OSError as e:
      logging.warning("could not move damaged checkpoint %s aside: %s", src,
                      e)
    self._manager.reload()


# ------------------------------------------------------------- inference


@dataclasses.dataclass(frozen=True)
class InferenceBundle:
  """Everything generation needs from a training run.

  Attributes:
    config: the run's config (lists back to tuples).
    params: model parameters (float32 arrays, replicated on local devices):
      the EMA of the parameters when ``params_kind == 'ema_params'``.
    stats: {'able_bodied': NormStats, optionally 'stroke': NormStats}.
    template: TemplateModel.to_dict() or None.
    step: the restored step.
    path: the step's folder.
    checksum: sha256 (hex) of the parameters' names, dtypes, shapes, bytes.
    params_kind: which saved tree ``params`` is: 'ema_params' (the EMA of a
      run trained with train.ema_decay > 0) or 'params'.
  """
  config: ml_collections.ConfigDict
  params: Any
  stats: Dict[str, Any]
  template: Optional[Dict[str, Any]]
  step: int
  path: str
  checksum: str
  params_kind: str = "params"


def resolve_checkpoint_dir(path: Union[str, os.PathLike]) -> pathlib.Path:
  """A workdir, its checkpoints/ folder or one step folder -> checkpoints/.

  Raises:
    CheckpointError: nothing that looks like checkpoints at ``path``.
  """
  p = pathlib.Path(os.fspath(path)).expanduser()
  if not p.exists():
    raise CheckpointError(f"checkpoint path {p} does not exist")
  if (p / CHECKPOINT_DIR).is_dir():
    return p / CHECKPOINT_DIR
  if p.is_dir() and _step_dirs(p):
    return p
  if p.is_dir() and p.name.isdigit() and (p / "state").is_dir():
    return p.parent
  raise CheckpointError(f"no checkpoints in {p}: expected a training workdir "
                        f"(with {CHECKPOINT_DIR}/) or its {CHECKPOINT_DIR}/ "
                        f"folder")


def _step_dirs(p: pathlib.Path) -> List[int]:
  return sorted(int(c.name) for c in p.iterdir()
                if c.is_dir() and c.name.isdigit())


def load_for_inference(path: Union[str, os.PathLike],
                       which: Union[str, int] = "best", *,
                       config: Optional[ml_collections.ConfigDict] = None,
                       params: str = "auto") -> InferenceBundle:
  """Loads params, stats and template of one step of a training run.

  Args:
    path: a training workdir, its checkpoints/ folder, or a step folder.
    which: 'best' (lowest validation loss), 'latest', or a step number. A
      step folder given as ``path`` with the default 'best' means that step.
    config: build the model from this config instead of the saved one.
    params: which parameters: 'auto' (the default) = the EMA of the
      parameters when the step holds one (trained with train.ema_decay > 0:
      the parameters its validation loss was computed with), else the
      trained parameters; 'ema' = the EMA or a CheckpointError; 'raw' = the
      trained parameters, never the EMA.
  Raises:
    CheckpointError: missing folder or step, unreadable step, no EMA with
      params='ema', or parameter shapes that do not match the config.
    ValueError: an unknown ``params``.
  """
  from gaitjax.data import normalize  # pylint: disable=g-import-not-at-top
  if params not in PARAMS_CHOICES:
    raise ValueError(f"params={params!r}: expected one of "
                     f"{', '.join(PARAMS_CHOICES)}")
  p = pathlib.Path(os.fspath(path)).expanduser()
  directory = resolve_checkpoint_dir(p)
  if directory != p and p.name.isdigit() and directory == p.parent \
      and which == "best":
    which = int(p.name)
  ckpt = Checkpointer(directory, read_only=True, async_save=False)
  try:
    steps = ckpt.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint in {directory}")
    if which == "best":
      step, fallback = ckpt.best_step(), True
      step = steps[-1] if step is None else step
    elif which == "latest":
      step, fallback = steps[-1], True
    else:
      try:
        step = int(which)
      except (TypeError, ValueError):
        raise CheckpointError(f"which={which!r}: expected 'best', 'latest' "
                              f"or a step number") from None
      fallback = False
      if step not in steps:
        raise CheckpointError(f"no step {step} in {directory} (it has "
                              f"{', '.join(map(str, steps))})")
    try:
      saved_config = config_utils.config_from_dict(ckpt.read_config(step))
    except _READ_ERRORS as e:
      if not fallback:
        raise CheckpointError(f"checkpoint {ckpt.step_path(step)} is "
                              f"damaged: {_one_line(e)}") from None
      saved_config = None
    cfg = config if config is not None else saved_config
    if cfg is None:  # the chosen step's config is unreadable: any other
      cfg = _any_config(ckpt, [s for s in reversed(steps) if s != step])
    abstract = abstract_train_state(cfg, tasks_lib.get_task(cfg),
                                    tasks_lib.dummy_batch(cfg))
    key = _inference_params_key(ckpt, step, params, saved_config or cfg)
    # Parameters only: the optimiser state (2x params) is not read. The EMA
    # has the parameters' tree, whatever cfg's own ema_decay.
    restored = ckpt.restore({key: abstract.params}, step,
                            fallback=fallback)
  finally:
    ckpt.close()
  stats = {k: normalize.NormStats.from_dict(v)
           for k, v in restored.stats.items()}
  if "able_bodied" not in stats:
    raise CheckpointError(f"checkpoint {restored.path} has no able-bodied "
                          f"normalisation statistics")
  out_config = (config if config is not None
                else config_utils.config_from_dict(restored.config))
  loaded = restored.state[key]
  return InferenceBundle(config=out_config, params=loaded, stats=stats,
                         template=restored.template, step=restored.step,
                         path=restored.path, checksum=params_checksum(loaded),
                         params_kind=key)


def _inference_params_key(ckpt: Checkpointer, step: int, choice: str,
                          saved_config: ml_collections.ConfigDict) -> str:
  """'ema_params' or 'params': the saved tree load_for_inference reads.

  Whether ``step`` holds an EMA comes from its metadata; where that is
  unreadable (a damaged step, restore falls back to another), from the
  saved config's train.ema_decay.
  """
  if choice == "raw":
    return "params"
  try:
    has_ema = ckpt.has_ema(step)
  except _READ_ERRORS:
    has_ema = state_lib.ema_decay(saved_config) > 0
  if choice == "ema" and not has_ema:
    raise CheckpointError(f"checkpoint {ckpt.step_path(step)} holds no EMA "
                          f"parameters (trained with train.ema_decay=0); "
                          f"use params='auto' or 'raw'")
  return "ema_params" if has_ema else "params"


def _any_config(ckpt: Checkpointer, steps: Iterable[int]
                ) -> ml_collections.ConfigDict:
  for s in steps:
    try:
      return config_utils.config_from_dict(ckpt.read_config(s))
    except _READ_ERRORS:
      continue
  raise CheckpointError(f"no readable checkpoint in {ckpt.directory}")


# --------------------------------------------------------------- helpers


def replicated_sharding(devices=None) -> jax.sharding.NamedSharding:
  """Every array whole on every local device (as pmap's out_axes=None)."""
  devices = list(devices) if devices is not None else jax.local_devices()
  mesh = jax.sharding.Mesh(np.array(devices), ("batch",),
                           axis_types=(jax.sharding.AxisType.Auto,))
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())


def global_replicated(tree: Any) -> Any:
  """Process-local replicated arrays -> global arrays over all devices.

  With several processes, a pmapped step returns each process's copy of the
  (identical) state on its local devices only; orbax's multi-process save
  wants one global array, fully replicated over jax.devices(). A no-op in a
  single process. No data moves: the local buffers are wrapped.
  """
  if jax.process_count() == 1:
    return tree
  mesh = jax.sharding.Mesh(np.array(jax.devices()), ("batch",),
                           axis_types=(jax.sharding.AxisType.Auto,))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())

  def wrap(x):
    if not isinstance(x, jax.Array) or x.is_fully_replicated and \
        not x.is_fully_addressable:
      return x
    shards = [s.data for s in x.addressable_shards]
    return jax.make_array_from_single_device_arrays(x.shape, sharding,
                                                    shards)
  return jax.tree.map(wrap, tree)


def abstract_train_state(config: ml_collections.ConfigDict,
                         task: tasks_lib.Task, example_batch: Mapping[str, Any],
                         sharding: Optional[jax.sharding.Sharding] = None
                         ) -> Any:
  """ShapeDtypeStructs of create_train_state (the restore target)."""
  sharding = sharding or replicated_sharding()
  shapes = jax.eval_shape(
      lambda: state_lib.create_train_state(jax.random.PRNGKey(0), config,
                                           task, example_batch))
  return jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding),
      shapes)


def params_checksum(params: Any) -> str:
  """sha256 hex of the parameter names, dtypes, shapes and bytes."""
  h = hashlib.sha256()
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  for path, leaf in sorted(flat, key=lambda kv: jax.tree_util.keystr(kv[0])):
    arr = np.asarray(jax.device_get(leaf))
    h.update(jax.tree_util.keystr(path).encode())
    h.update(str(arr.dtype).encode())
    h.update(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
  return h.hexdigest()


def _is_train_state(state: Any) -> bool:
  return isinstance(state, state_lib.TrainState)


def _ema_target(abstract_state: Any, saved_has_ema: bool) -> Any:
  """The restore target with the saved step's EMA tree (present or None).

  The EMA has the parameters' tree, so its abstract is theirs.
  """
  if (abstract_state.ema_params is not None) == saved_has_ema:
    return abstract_state
  return abstract_state.replace(
      ema_params=abstract_state.params if saved_has_ema else None)


def _with_wanted_ema(state: Any, abstract_state: Any, where: str) -> Any:
  """A restored state given the EMA its config asks for.

  Resuming with train.ema_decay > 0 from a step saved without EMA starts
  the average at the restored parameters (as a fresh run starts it at its
  initial ones); resuming with ema_decay = 0 drops a saved EMA.
  """
  if abstract_state.ema_params is not None:
    logging.warning("checkpoint %s holds no EMA: train.ema_decay > 0 starts "
                    "it from the restored parameters", where)
    return state.replace(ema_params=jax.tree.map(jnp.copy, state.params))
  logging.warning("checkpoint %s holds an EMA of the parameters: "
                  "train.ema_decay = 0 drops it", where)
  return state.replace(ema_params=None)


def _params_key(state: Any) -> str:
  """'ema_params' for an inference target {'ema_params': ...}, else
  'params' (a TrainState or {'params': ...})."""
  if isinstance(state, Mapping) and "ema_params" in state:
    return "ema_params"
  return "params"


def _params_of(state: Any) -> Any:
  if isinstance(state, Mapping):
    return state[_params_key(state)]
  return state.params


def _shapes(tree: Any) -> Dict[str, Tuple[int, ...]]:
  """{'a/b/kernel': shape} for arrays, ShapeDtypeStructs or orbax metadata."""
  flat = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: hasattr(x, "shape"))[0]
  return {"/".join(_key(k) for k in path): tuple(leaf.shape)
          for path, leaf in flat}


def _key(k) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(k, attr):
      return str(getattr(k, attr))
  return str(k)


def _stats_to_json(stats: Mapping[str, Any]) -> Dict[str, Any]:
  out = {}
  for name, s in stats.items():
    if s is None:
      continue
    out[name] = _plain(s.to_dict() if hasattr(s, "to_dict") else dict(s))
  return out


def _template_to_json(template: Any) -> Dict[str, Any]:
  if template is None:
    return {}
  if hasattr(template, "to_dict"):
    template = template.to_dict()
  return _plain(dict(template))


def _plain(value: Any) -> Any:
  """numpy scalars/arrays to JSON types, recursively."""
  if isinstance(value, Mapping):
    return {str(k): _plain(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


def _collect_quietly() -> None:
  """Collects a failed read's abandoned orbax coroutines now.

  Each would otherwise print "Exception ignored in: <coroutine ...>" and a
  traceback to stderr whenever the garbage collector gets to it.
  """
  hook = sys.unraisablehook
  sys.unraisablehook = lambda u: logging.debug(
      "ignored after a damaged read: %s", _one_line(u.exc_value))
  try:
    gc.collect()
  finally:
    sys.unraisablehook = hook


def _read_error_in_chain(e: BaseException) -> Optional[BaseException]:
  """The first _READ_ERRORS exception in e's __cause__ chain, or None."""
  seen = set()
  while e is not None and id(e) not in seen:
    if isinstance(e, _READ_ERRORS):
      return e
    seen.add(id(e))
    e = e.__cause__
  return None


def _one_line(e: BaseException) -> str:
  text = str(e).strip().splitlines()
  first = text[0] if text else type(e).__name__
  return f"{type(e).__name__}: {first[:300]}"
