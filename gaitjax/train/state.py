"""Train state and optimiser (paper II.E: AdamW 5e-4, wd 1e-3, clip 1.0).

The paper's learning rate is constant (optim.schedule='constant',
warmup_steps=0); warmup and cosine decay are ours (configs/variants/
lr_cosine.py). ``train.ema_decay`` > 0 keeps an exponential moving average
of the parameters in the state (GaitDynamics; configs/variants/
gaitdynamics_film.py); 0 (the paper, which mentions no EMA) leaves
``ema_params`` None, so the state and its checkpoints are exactly as before.
With an EMA, ``eval_params()`` (the EMA) is what the loop validates (and so
ranks checkpoints) with, what ``checkpoint.load_for_inference`` returns by
default and what ``train.init_from`` starts a fine-tuning run from.
"""
from typing import Any, Mapping, Optional

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
    ema_params: EMA of params (float32, same tree) when ema_decay > 0,
      else None.
    ema_decay: static float; 0 = no EMA.
  """
  step: jnp.ndarray
  params: Params
  opt_state: optax.OptState
  tx: optax.GradientTransformation = struct.field(pytree_node=False)
  ema_params: Optional[Params] = None
  ema_decay: float = struct.field(pytree_node=False, default=0.0)

  def apply_gradients(self, grads: Params) -> "TrainState":
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    params = optax.apply_updates(self.params, updates)
    ema = self.ema_params
    if self.ema_decay > 0 and ema is not None:
      ema = ema_update(ema, params, self.ema_decay, self.step)
    return self.replace(step=self.step + 1, params=params,
                        opt_state=opt_state, ema_params=ema)

  def eval_params(self) -> Params:
    """The parameters to evaluate and sample with: the EMA when kept."""
    return self.params if self.ema_params is None else self.ema_params


def ema_update(ema: Params, params: Params, decay: float,
               step: jnp.ndarray) -> Params:
  """ema <- d * ema + (1 - d) * params, d = min(decay, (1 + s) / (10 + s)).

  s = the number of updates already applied. The warm-up of d (as in
  TensorFlow's ExponentialMovingAverage with num_updates) keeps the first
  steps' average from being dominated by the random initialisation.
  """
  s = step.astype(jnp.float32)
  d = jnp.minimum(jnp.float32(decay), (1.0 + s) / (10.0 + s))
  return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p.astype(e.dtype),
                      ema, params)


def learning_rate_schedule(optim_cfg: ml_collections.ConfigDict,
                           num_steps: int) -> optax.Schedule:
  """Linear warmup from 0 to the peak, then constant or cosine to 0.

  The paper: constant 5e-4 with no warmup (schedule='constant',
  warmup_steps=0).

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
  decay = ema_decay(config)
  ema = jax.tree.map(jnp.copy, params) if decay > 0 else None
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=tx.init(params), tx=tx, ema_params=ema,
                    ema_decay=decay)


def ema_decay(config: ml_collections.ConfigDict) -> float:
  """config.train.ema_decay (0 when absent: configs saved before the key)."""
  decay = float(config.train.get("ema_decay", 0.0) or 0.0)
  if not 0.0 <= decay < 1.0:
    raise ConfigError(f"config.train.ema_decay must be in [0, 1), got "
                      f"{decay!r}")
  return decay


def param_count(params: Params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))
