"""Training objective (paper II.D.3, eq. 7), one function per term.

L = L_noise + lambda_1 L_residual + lambda_2 L_identity + lambda_3 L_subject

All terms are float32 scalars computed on explicit arrays in normalised
(z-score) units; ``diffusion_loss`` wires them to the model and a batch.
Per-pair weights from ``dv_weights`` implement the paper's "small speed
differences prioritise identity and subject terms, larger ones residual
reconstruction"; the noise term is not re-weighted. By default the
clean-residual terms are plain MSEs, as eq. 7 is written; the alpha_t^2
weighting of LossConfig.x0_weighting='alpha2' is ours
(configs/variants/x0_weighting.py).

Which pairs get the identity term is decided by the same whole-mm/s rule as
the pair categories (data/pairs.is_near_or_identity): |dv| < 0.1 m/s
strictly, so pairs 0.1 m/s apart (e.g. 0.6 vs 0.5 in float32, whose
difference is 0.10000002) never get it.
"""
import dataclasses
from typing import Dict, Optional, Tuple

import chex
import jax
import jax.numpy as jnp

from gaitjax import constants
from gaitjax.data import pairs as pairs_lib
from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError

Array = jnp.ndarray
Batch = Dict[str, Array]

X0_WEIGHTINGS = ("none", "alpha2")


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """Typed config.loss (hashable, so it can be a static jit argument)."""
  knee_weight: float = 2.0
  lambda_residual: float = 1.0
  lambda_identity: float = 1.0
  lambda_subject: float = 0.1
  identity_threshold_mps: float = 0.1
  contrastive_temperature: float = 0.1
  dv_scale_mps: float = 0.5
  residual_floor: float = 0.25
  # Per-pair weight of the clean-sample terms (residual, identity, subject)
  # by noise level: 'none' = eq. 7 as written (the paper); 'alpha2' [ours]
  # multiplies them by alpha_t^2. With eps-prediction x0_hat = (z -
  # sigma*eps_hat)/alpha amplifies the eps error by sigma/alpha (~160 at
  # the linear schedule's last step, ~2e4 at the cosine one's), so the
  # unweighted terms are dominated by the noisiest steps; alpha^2 * |x0
  # err|^2 = sigma^2 * |eps err|^2 is bounded, but it is a different
  # objective from eq. 7.
  x0_weighting: str = "none"
  # Speed [ours, same function]: the contrastive term reuses the subject
  # embedding of x_src that the conditioning computed, instead of a second
  # BiLSTM pass over x_src (one encoder pass less per step; equal to float32
  # rounding: tests/test_losses.py). False = the original two-pass path.
  reuse_subject_embedding: bool = True

  @classmethod
  def from_config(cls, loss_cfg) -> "LossConfig":
    """From config.loss (ConfigDict / mapping); a LossConfig passes through."""
    if isinstance(loss_cfg, cls):
      return loss_cfg
    kwargs = {}
    for f in dataclasses.fields(cls):
      value = loss_cfg.get(f.name)
      if value is not None:
        if f.name == "x0_weighting":
          kwargs[f.name] = value
        elif f.name == "reuse_subject_embedding":
          kwargs[f.name] = bool(value)
        else:
          kwargs[f.name] = float(value)
    cfg = cls(**kwargs)
    if cfg.x0_weighting not in X0_WEIGHTINGS:
      raise ConfigError(f"config.loss.x0_weighting must be one of "
                        f"{X0_WEIGHTINGS}, got {cfg.x0_weighting!r}")
    for name in ("contrastive_temperature", "dv_scale_mps"):
      if getattr(cfg, name) <= 0:
        raise ConfigError(f"config.loss.{name} must be > 0, got "
                          f"{getattr(cfg, name)}")
    for name in ("knee_weight", "lambda_residual", "lambda_identity",
                 "lambda_subject", "identity_threshold_mps",
                 "residual_floor"):
      if getattr(cfg, name) < 0:
        raise ConfigError(f"config.loss.{name} must be >= 0, got "
                          f"{getattr(cfg, name)}")
    return cfg


def channel_weights(knee_weight: float = 2.0,
                    num_channels: int = constants.NUM_CHANNELS) -> Array:
  """[F] weights: knee channels knee_weight, others 1, rescaled to mean 1.

  Mean 1 makes a weighted MSE with knee_weight=1 equal the plain MSE, and
  keeps the noise term's scale (~1 at init for eps) independent of the
  knee weight; the knee/other ratio is still knee_weight (paper: x2).
  """
  w = jnp.ones((num_channels,), jnp.float32)
  w = w.at[jnp.asarray(constants.KNEE_CHANNELS)].set(knee_weight)
  return w / jnp.mean(w)


def noise_mse(pred: Array, target: Array, knee_weight: float = 2.0) -> Array:
  """Knee-weighted MSE over [B, T, F]: mean_{b,t,f} w_f (pred - target)^2.

  w = channel_weights(knee_weight) (mean 1). `target` is whatever the
  network predicts (eps, v or x0).
  """
  chex.assert_equal_shape([pred, target])
  chex.assert_axis_dimension(pred, -1, constants.NUM_CHANNELS)
  err = jnp.square(pred.astype(jnp.float32) - target.astype(jnp.float32))
  return jnp.mean(err * channel_weights(knee_weight))


def _weighted_mean(per_example: Array, weights: Optional[Array]) -> Array:
  """mean_b w_b * l_b (weights None -> plain mean)."""
  if weights is None:
    return jnp.mean(per_example)
  chex.assert_equal_shape([per_example, weights])
  return jnp.mean(weights.astype(jnp.float32) * per_example)


def residual_reconstruction(r0_hat: Array, r0: Array,
                            weights: Optional[Array] = None) -> Array:
  """mean_b w_b * mean_{t,f} (r0_hat - r0)^2  (channels unweighted).

  Args:
    r0_hat, r0: [B, T, F] predicted / true clean residual.
    weights: [B] per-pair weights (dv_weights' w_residual) or None.
  """
  chex.assert_equal_shape([r0_hat, r0])
  chex.assert_rank(r0, 3)
  per = jnp.mean(jnp.square(r0_hat.astype(jnp.float32)
                            - r0.astype(jnp.float32)), axis=(1, 2))
  return _weighted_mean(per, weights)


def identity_preservation(r0_hat: Array, v_src: Array, v_tgt: Array,
                          threshold: float = 0.1,
                          identity_target: Optional[Array] = None,
                          weights: Optional[Array] = None) -> Array:
  """Mean squared (r0_hat - identity_target) over pairs with |dv| < threshold.

  |dv| is compared in whole mm/s (pairs.is_near_or_identity), strictly.

  For the paper's reference (x_ref = x_src) the identity target is a zero
  residual; with another reference it is x_src - x_ref (the residual that
  gives back x_src). Per pair: w_b * mean_{t,f}(.)^2, averaged over the
  pairs inside the threshold (identical speeds included); 0 if there are none.

  Args:
    r0_hat: [B, T, F]. v_src, v_tgt: [B] m/s.
    identity_target: [B, T, F] or None (zeros).
    weights: [B] or None.
  """
  chex.assert_rank([r0_hat, v_src, v_tgt], [3, 1, 1])
  r0_hat = r0_hat.astype(jnp.float32)
  if identity_target is not None:
    chex.assert_equal_shape([r0_hat, identity_target])
    r0_hat = r0_hat - identity_target.astype(jnp.float32)
  per = jnp.mean(jnp.square(r0_hat), axis=(1, 2))
  if weights is not None:
    per = per * weights.astype(jnp.float32)
  # Same whole-mm/s rule as the pair categories (strict <, see pairs.py).
  near = pairs_lib.is_near_or_identity(v_src, v_tgt, threshold,
                                       xp=jnp).astype(jnp.float32)
  return jnp.sum(per * near) / jnp.maximum(jnp.sum(near), 1.0)


def subject_contrastive(emb_src: Array, emb_gen: Array, subject: Array,
                        temperature: float = 0.1,
                        weights: Optional[Array] = None) -> Array:
  """Supervised batch-wise contrastive (InfoNCE) loss, symmetric.

  Similarities s_ij = <emb_src_i, emb_gen_j> / temperature (unit-norm
  embeddings -> cosine). For anchor i (each direction: src->gen over the
  columns, gen->src over the rows) the loss is
    l_i = -log( sum_{j: subj_j = subj_i} e^{s_ij} / sum_j e^{s_ij} ),
  i.e. the probability mass on same-subject items (the "L_in" form of
  Khosla et al. 2020). An anchor whose batch has no other-subject item has
  l_i = 0 and no signal; such anchors are excluded from the mean, and the
  loss is 0 if every anchor is such. Weighted by w_i when given.

  Args:
    emb_src: [B, E] embeddings of x_src. emb_gen: [B, E] of the generated
      x_tgt. subject: [B] int. weights: [B] or None.
  """
  chex.assert_rank([emb_src, emb_gen, subject], [2, 2, 1])
  chex.assert_equal_shape([emb_src, emb_gen])
  logits = (emb_src.astype(jnp.float32) @ emb_gen.astype(jnp.float32).T
            / temperature)                                     # [B, B]
  same = subject[:, None] == subject[None, :]                  # [B, B]
  neg_inf = jnp.finfo(jnp.float32).min

  def one_direction(lg):
    pos = jax.nn.logsumexp(jnp.where(same, lg, neg_inf), axis=1)
    return jax.nn.logsumexp(lg, axis=1) - pos                  # [B]

  per = 0.5 * (one_direction(logits) + one_direction(logits.T))
  has_negative = jnp.any(~same, axis=1).astype(jnp.float32)
  if weights is not None:
    per = per * weights.astype(jnp.float32)
  return jnp.sum(per * has_negative) / jnp.maximum(jnp.sum(has_negative), 1.)


def dv_weights(v_src: Array, v_tgt: Array, dv_scale: float = 0.5,
               residual_floor: float = 0.25) -> Tuple[Array, Array]:
  """Per-pair loss weights from the speed change |dv| = |v_tgt - v_src|.

  w = exp(-|dv| / dv_scale) in (0, 1]:
    w_identity_subject = w           (1 at dv = 0, decreasing with |dv|)
    w_residual = (1 - w) + floor     (floor at dv = 0, increasing to 1+floor)
  So identity and subject terms dominate small speed changes and the
  residual term large ones; the floor keeps some residual supervision on
  identity pairs (where r0 is the identity target anyway).

  Args:
    v_src, v_tgt: [B] m/s.
  Returns:
    (w_identity_subject [B], w_residual [B]) float32.
  """
  chex.assert_rank([v_src, v_tgt], 1)
  w = jnp.exp(-jnp.abs(v_tgt - v_src).astype(jnp.float32) / dv_scale)
  return w, (1.0 - w) + residual_floor


def total_loss(noise: Array, residual: Array, identity: Array,
               subject: Array, *, lambda_residual: float = 1.0,
               lambda_identity: float = 1.0,
               lambda_subject: float = 0.1) -> Array:
  """Eq. 7: noise + l1 * residual + l2 * identity + l3 * subject."""
  return (noise + lambda_residual * residual + lambda_identity * identity
          + lambda_subject * subject)


def _check_batch(batch: Batch) -> None:
  for key in ("x_src", "x_tgt", "x_ref", "v_src", "v_tgt", "subject"):
    if key not in batch:
      raise ConfigError(f"diffusion_loss: batch has no {key!r} (keys: "
                        f"{sorted(batch)})")
  chex.assert_rank([batch["x_src"], batch["v_src"]], [3, 1])
  chex.assert_equal_shape([batch["x_src"], batch["x_tgt"], batch["x_ref"]])
  chex.assert_equal_shape([batch["v_src"], batch["v_tgt"],
                           batch["subject"]])
  chex.assert_equal(batch["x_src"].shape[0], batch["v_src"].shape[0])


def diffusion_loss(params, model, schedule: sched.VPSchedule, batch: Batch,
                   rng: jax.Array, *, loss_cfg, prediction: str = "eps",
                   residual: bool = True, train: bool = True
                   ) -> Tuple[Array, Dict[str, Array]]:
  """One Monte-Carlo estimate of eq. 7 on a (per-device) batch.

  Args:
    params: the model's 'params' collection (apply gets {'params': params}).
    model: a GaitDiffusionModel.
    schedule: VPSchedule with N steps; t ~ U{0..N-1}.
    batch: normalised x_src, x_tgt, x_ref [B,T,F]; v_src, v_tgt [B] m/s;
      subject [B] int.
    rng: key for t, eps and dropout.
    loss_cfg: LossConfig or config.loss.
    prediction: 'eps' | 'v' | 'x0' (what the network outputs).
    residual: True -> diffuse r0 = x_tgt - x_ref; False -> diffuse x_tgt.
    train: dropout on.
  Returns:
    (loss, metrics) float32 scalars; metrics: loss, noise, residual,
    identity, subject, plus x0_mse (unweighted MSE of the clean sample).
  """
  cfg = LossConfig.from_config(loss_cfg)
  _check_batch(batch)
  x_src = batch["x_src"].astype(jnp.float32)
  x_tgt = batch["x_tgt"].astype(jnp.float32)
  x_ref = batch["x_ref"].astype(jnp.float32)
  v_src = batch["v_src"].astype(jnp.float32)
  v_tgt = batch["v_tgt"].astype(jnp.float32)
  b = x_src.shape[0]
  rng_t, rng_eps, rng_drop = jax.random.split(rng, 3)

  # Clean sample and the residual an identity mapping should produce.
  if residual:
    r0 = x_tgt - x_ref
    identity_target = x_src - x_ref        # zeros for the 'source' reference
  else:
    r0 = x_tgt
    identity_target = x_src
  t = jax.random.randint(rng_t, (b,), 0, schedule.num_timesteps)
  eps = jax.random.normal(rng_eps, r0.shape, jnp.float32)
  alpha, sigma = sched.gather(schedule, t)
  r_t = sched.q_sample(r0, eps, alpha, sigma)

  variables = {"params": params}
  rngs = {"dropout": rng_drop} if train else None
  use_subject = (getattr(model, "use_subject_encoder", True)
                 and cfg.lambda_subject > 0)
  reuse = (use_subject and cfg.reuse_subject_embedding
           and hasattr(model, "forward_with_embedding"))
  if reuse:
    pred, z_src = model.apply(variables, r_t, x_ref, x_src, v_src, v_tgt, t,
                              train=train, rngs=rngs,
                              method=model.forward_with_embedding)
  else:
    pred = model.apply(variables, r_t, x_ref, x_src, v_src, v_tgt, t,
                       train=train, rngs=rngs)
  pred = pred.astype(jnp.float32)
  r0_hat, _ = sched.predictions_to_x0_eps(pred, r_t, alpha, sigma,
                                          prediction)
  target = sched.target_for(r0, eps, alpha, sigma, prediction)

  w_id, w_res = dv_weights(v_src, v_tgt, cfg.dv_scale_mps,
                           cfg.residual_floor)
  if cfg.x0_weighting == "alpha2":
    a2 = jnp.square(alpha[:, 0, 0])
    w_id, w_res = w_id * a2, w_res * a2
  noise = noise_mse(pred, target, cfg.knee_weight)
  res = residual_reconstruction(r0_hat, r0, w_res)
  ident = identity_preservation(r0_hat, v_src, v_tgt,
                                cfg.identity_threshold_mps,
                                identity_target=identity_target,
                                weights=w_id)
  if use_subject:
    x_gen = x_ref + r0_hat if residual else r0_hat
    if reuse:
      z_gen = model.apply(variables, x_gen, method=model.subject_embedding)
    else:
      emb = model.apply(variables, jnp.concatenate([x_src, x_gen], axis=0),
                        method=model.subject_embedding)
      z_src, z_gen = emb[:b], emb[b:]
    subj = subject_contrastive(z_src, z_gen, batch["subject"],
                               cfg.contrastive_temperature, weights=w_id)
  else:
    subj = jnp.zeros((), jnp.float32)
  loss = total_loss(noise, res, ident, subj,
                    lambda_residual=cfg.lambda_residual,
                    lambda_identity=cfg.lambda_identity,
                    lambda_subject=cfg.lambda_subject)
  metrics = {"loss": loss, "noise": noise, "residual": res,
             "identity": ident, "subject": subj,
             "x0_mse": jnp.mean(jnp.square(r0_hat - r0))}
  return loss, metrics
