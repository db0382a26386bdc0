"""Data-parallel train and eval steps (pmap over the local devices).

The modern pmap form (flax examples/imagenet): the state is passed
unreplicated (``in_axes=None``) and comes back as one fully replicated
global array (``out_axes=None``), which orbax saves directly; batches are
[D, B/D, ...]; gradients and metrics are averaged with ``lax.pmean``.
Metrics come back [D] (identical rows) and stay on device until a logging
step pulls them. With ``train.ema_decay`` > 0 the update also advances the
parameter EMA (TrainState.apply_gradients); evaluate and sample with
``state.eval_params()``.
"""
import functools
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
from jax import lax

from gaitjax.train import tasks as tasks_lib
from gaitjax.train.state import TrainState

AXIS = "batch"
Batch = Mapping[str, jnp.ndarray]
Metrics = Dict[str, jnp.ndarray]


def train_step(state: TrainState, batch: Batch, *, loss_fn: tasks_lib.LossFn,
               base_rng: jax.Array) -> Tuple[TrainState, Metrics]:
  """One AdamW update on the global batch (inside pmap over AXIS).

  Args:
    state: replicated TrainState.
    batch: this device's shard, [B/D, ...].
    loss_fn: Task.loss_fn.
    base_rng: run key; the step's key is fold_in(fold_in(base, step), device)
      so a resumed run draws exactly the noise an uninterrupted one would.
  Returns:
    (new state, metrics averaged over devices; adds 'grad_norm'). The new
    state's ema_params (if kept) average the updated params.
  """
  rng = jax.random.fold_in(jax.random.fold_in(base_rng, state.step),
                           lax.axis_index(AXIS))

  def loss(params):
    return loss_fn(params, batch, rng, train=True)

  (_, metrics), grads = jax.value_and_grad(loss, has_aux=True)(state.params)
  # Equal shard sizes: the mean of per-device means is the global mean.
  grads = lax.pmean(grads, AXIS)
  metrics = dict(metrics)
  metrics["grad_norm"] = _global_norm(grads)
  metrics = lax.pmean(metrics, AXIS)
  return state.apply_gradients(grads), metrics


def eval_step(params: Any, batch: Batch, rng: jax.Array, *,
              loss_fn: tasks_lib.LossFn) -> Metrics:
  """Loss metrics (train=False) on a fixed batch with a fixed key."""
  rng = jax.random.fold_in(rng, lax.axis_index(AXIS))
  _, metrics = loss_fn(params, batch, rng, train=False)
  return lax.pmean(dict(metrics), AXIS)


def _global_norm(tree) -> jnp.ndarray:
  leaves = jax.tree.leaves(tree)
  return jnp.sqrt(sum(jnp.sum(jnp.square(x.astype(jnp.float32)))
                      for x in leaves))


def make_train_step(task: tasks_lib.Task, base_rng: jax.Array,
                    devices: Optional[Sequence[jax.Device]] = None
                    ) -> Callable[[TrainState, Batch],
                                  Tuple[TrainState, Metrics]]:
  """pmapped train step: (state, batch [D, B/D, ...]) -> (state, metrics [D]).

  The state argument is donated: the caller must not touch the old state
  after the call.
  """
  fn = functools.partial(train_step, loss_fn=task.loss_fn, base_rng=base_rng)
  return jax.pmap(fn, axis_name=AXIS, in_axes=(None, 0), out_axes=(None, 0),
                  donate_argnums=(0,), devices=devices)


def make_eval_step(task: tasks_lib.Task,
                   devices: Optional[Sequence[jax.Device]] = None
                   ) -> Callable[[Any, Batch, jax.Array], Metrics]:
  """pmapped eval step: (params, batch [D, B/D, ...], rng) -> metrics [D]."""
  fn = functools.partial(eval_step, loss_fn=task.loss_fn)
  return jax.pmap(fn, axis_name=AXIS, in_axes=(None, 0, None), out_axes=0,
                  devices=devices)


def unreplicate_metrics(metrics: Metrics) -> Dict[str, float]:
  """Host floats from pmapped metrics [D] (rows are equal after pmean)."""
  host = jax.device_get(metrics)
  return {k: float(v[0]) for k, v in host.items()}
