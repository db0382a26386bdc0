"""Train state and optimiser (paper II.E: AdamW 5e-4, wd 1e-3, clip 1.0)."""
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import struct

from gaitjax.errors import ConfigError
from gaitjax.train import tasks as tasks_lib

Params = Any


class TrainState(struct.PyTreeNode):
  """What a step updates and a checkpoint stores.

  Attributes:
    step: [] int32, number of updates applied (= the next batch's index).
    params: model parameters (float32).
    opt_state: optax state of ``tx``.
    tx: the optimiser (static, rebuilt from the config, never saved).
  """
  step: jnp.ndarray
  params: Params
  opt_state: optax.OptState
  tx: optax.GradientTransformation = struct.field(pytree_node=False)

  def apply_gradients(self, grads: Params) -> "TrainState":
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1,
                        params=optax.apply_updates(self.params, updates),
                        opt_state=opt_state)


def learning_rate_schedule(optim_cfg: ml_collections.ConfigDict,
                           num_steps: int) -> optax.Schedule:
  """Linear warmup from 0 to the peak, then constant or cosine to 0.

  lr(s) = peak * s / W for s < W; then peak (constant) or
  peak * (1 + cos(pi * (s - W) / (N - W))) / 2 (cosine).
  """
  peak = float(optim_cfg.learning_rate)
  warmup = int(optim_cfg.warmup_steps)
  kind = optim_cfg.get("schedule", "cosine")
  if kind == "constant":
    after = optax.constant_schedule(peak)
  elif kind == "cosine":
    after = optax.cosine_decay_schedule(peak, max(1, num_steps - warmup))
  else:
    raise ConfigError(f"config.optim.schedule must be constant or cosine, "
                      f"got {kind!r}")
  if warmup <= 0:
    return after
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup), after], [warmup])


def make_optimizer(config: ml_collections.ConfigDict
                   ) -> optax.GradientTransformation:
  """Global-norm clipping, then AdamW on the scheduled learning rate."""
  optim = config.optim
  lr = learning_rate_schedule(optim, int(config.train.num_steps))
  return optax.chain(
      optax.clip_by_global_norm(float(optim.grad_clip_norm)),
      optax.adamw(lr, weight_decay=float(optim.weight_decay)))


def create_train_state(rng: jax.Array, config: ml_collections.ConfigDict,
                       task: tasks_lib.Task,
                       example_batch: Mapping[str, Any]) -> TrainState:
  """Fresh state: task.init_params(rng, example_batch [B, ...]) + optimiser.

  Pure in (rng, config, example_batch shapes), so jax.eval_shape of it is
  the abstract target a checkpoint is restored into.
  """
  params = task.init_params(rng, example_batch)
  tx = make_optimizer(config)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=tx.init(params), tx=tx)


def param_count(params: Params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))
