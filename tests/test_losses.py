"""Tests of gaitjax.diffusion.losses: each term on hand-made inputs."""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from gaitjax.data import pairs
from gaitjax.diffusion import losses
from gaitjax.diffusion import schedule as sched
from gaitjax.errors import ConfigError
from gaitjax.models import GaitDiffusionModel
from gaitjax.models.encoder import SubjectEncoder

B, T, F = 4, 40, 6

# Jitted once per shape: cheaper than eager dispatch of each small op.
noise_mse = jax.jit(losses.noise_mse)
residual_reconstruction = jax.jit(losses.residual_reconstruction)
identity_preservation = jax.jit(losses.identity_preservation)
subject_contrastive = jax.jit(losses.subject_contrastive)


def test_channel_weights_and_knee_weighted_mse():
  w = np.asarray(losses.channel_weights(2.0))
  np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-6)
  assert w[1] == w[4] == pytest.approx(2 * w[0])
  # Error 1 on the right knee only: weight 2 / mean(1,2,1,1,2,1) = 1.5,
  # averaged over 6 channels -> 0.25.
  pred = jnp.zeros((B, T, F)).at[:, :, 1].set(1.0)
  assert float(noise_mse(pred, jnp.zeros_like(pred))) == (
      pytest.approx(0.25))
  # Same error on a hip channel: weight 1 / (8/6) = 0.75 -> 0.125.
  pred = jnp.zeros((B, T, F)).at[:, :, 0].set(1.0)
  assert float(noise_mse(pred, jnp.zeros_like(pred))) == (
      pytest.approx(0.125))
  # knee_weight = 1 is the plain MSE.
  a = jax.random.normal(jax.random.key(0), (B, T, F))
  assert float(noise_mse(a, 0 * a, knee_weight=1.0)) == pytest.approx(
      float(jnp.mean(a ** 2)), rel=1e-6)


def test_residual_reconstruction_weighted():
  r0 = jnp.zeros((2, T, F))
  r0_hat = jnp.stack([jnp.ones((T, F)), 2 * jnp.ones((T, F))])  # mse 1 and 4
  assert float(residual_reconstruction(r0_hat, r0)) == (
      pytest.approx(2.5))
  w = jnp.array([1.0, 0.5])
  assert float(residual_reconstruction(r0_hat, r0, w)) == (
      pytest.approx((1 * 1 + 0.5 * 4) / 2))


def test_identity_preservation():
  r0_hat = jnp.stack([k * jnp.ones((T, F)) for k in (1.0, 2.0, 3.0)])
  v_src = jnp.array([1.0, 1.0, 1.0])
  # No pair within 0.1 m/s -> 0.
  assert float(identity_preservation(
      r0_hat, v_src, v_src + jnp.array([0.15, -0.3, 0.5]))) == 0.0
  # Pairs 0 (identical speed) and 2 (dv = 0.05) count: (1 + 9) / 2.
  v_tgt = jnp.array([1.0, 1.5, 1.05])
  assert float(identity_preservation(r0_hat, v_src, v_tgt)) == (
      pytest.approx(5.0))
  # A non-source reference: the identity target is x_src - x_ref.
  target = jnp.stack([k * jnp.ones((T, F)) for k in (1.0, 0.0, 2.0)])
  assert float(identity_preservation(
      r0_hat, v_src, v_tgt, identity_target=target)) == pytest.approx(0.5)
  w = jnp.array([0.5, 1.0, 1.0])
  assert float(identity_preservation(r0_hat, v_src, v_tgt,
                                            weights=w)) == pytest.approx(4.75)


def test_subject_contrastive_known_value_and_alignment():
  e = jnp.eye(2)
  # Orthogonal unit embeddings, two subjects, temperature 1:
  # logits = I, l = logsumexp([1, 0]) - 1 = log(1 + e^-1).
  val = float(subject_contrastive(e, e, jnp.array([0, 1]), 1.0))
  assert val == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-5)
  # A batch with one subject has no negatives: 0.
  assert float(subject_contrastive(e, e[::-1], jnp.array([3, 3]))) == 0

  emb = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
  emb = emb / np.linalg.norm(emb, axis=-1, keepdims=True)
  subject = jnp.array([0, 0, 1, 1, 2, 2, 3, 3])
  aligned = subject_contrastive(emb, emb, subject, 0.1)
  shuffled = subject_contrastive(emb, emb[[2, 4, 6, 0, 1, 3, 5, 7]],
                                 subject, 0.1)
  assert float(aligned) < float(shuffled)
  # Per-anchor weights scale the loss.
  half = subject_contrastive(emb, emb, subject, 0.1,
                                    weights=0.5 * jnp.ones(8))
  assert float(half) == pytest.approx(0.5 * float(aligned), rel=1e-5)


def test_dv_weights_monotone():
  v_src = jnp.ones(5)
  dv = jnp.array([0.0, 0.05, 0.2, 0.6, 1.2])
  w_id, w_res = losses.dv_weights(v_src, v_src + dv, dv_scale=0.5,
                                  residual_floor=0.25)
  assert float(w_id[0]) == pytest.approx(1.0)
  assert float(w_res[0]) == pytest.approx(0.25)
  assert np.all(np.diff(w_id) < 0) and np.all(np.diff(w_res) > 0)
  # Symmetric in the sign of dv.
  w_id2, _ = losses.dv_weights(v_src, v_src - dv, 0.5, 0.25)
  np.testing.assert_allclose(w_id, w_id2, rtol=1e-6)


def test_total_loss_and_loss_config():
  total = losses.total_loss(jnp.array(1.0), jnp.array(2.0), jnp.array(3.0),
                            jnp.array(4.0), lambda_residual=0.5,
                            lambda_identity=2.0, lambda_subject=0.1)
  assert float(total) == pytest.approx(1 + 1 + 6 + 0.4)
  cfg = losses.LossConfig.from_config(default.get_config().loss)
  assert cfg.knee_weight == 2.0 and cfg.identity_threshold_mps == 0.1
  bad = default.get_config().loss
  bad.contrastive_temperature = 0.0
  with pytest.raises(ConfigError, match="contrastive_temperature"):
    losses.LossConfig.from_config(bad)


@pytest.fixture(scope="module")
def tiny():
  model = GaitDiffusionModel(width=32, num_layers=2, num_heads=2, mlp_dim=64,
                             dropout=0.1, patch_size=4, cond_dim=16,
                             time_embed_dim=32, subject_embed_dim=8,
                             lstm_hidden=8, lstm_patch_size=4,
                             speed_hidden=16)
  k = jax.random.split(jax.random.key(0), 3)
  x_src = jax.random.normal(k[0], (B, T, F))
  batch = {"x_src": x_src, "x_ref": x_src,
           "x_tgt": x_src + 0.3 * jax.random.normal(k[1], (B, T, F)),
           "v_src": jnp.array([0.5, 1.0, 1.0, 1.5]),
           "v_tgt": jnp.array([1.2, 1.0, 1.05, 0.6]),
           "subject": jnp.array([0, 0, 1, 1], jnp.int32)}
  params = jax.jit(lambda key: model.init(
      key, x_src, x_src, x_src, batch["v_src"], batch["v_tgt"],
      jnp.zeros((B,), jnp.int32), train=False)["params"])(k[2])
  return model, params, batch


def _loss_fn(model, batch, prediction, residual, **loss_overrides):
  config = default.get_config()
  schedule = sched.schedule_from_config(config.diffusion)   # linear
  cfg = losses.LossConfig.from_config(config.loss)
  if loss_overrides:
    cfg = losses.LossConfig(**{**cfg.__dict__, **loss_overrides})
  return lambda p, rng: losses.diffusion_loss(
      p, model, schedule, batch, rng, loss_cfg=cfg, prediction=prediction,
      residual=residual, train=True)


def _check_metrics(loss, metrics):
  assert set(metrics) == {"loss", "noise", "residual", "identity", "subject",
                          "x0_mse"}
  assert all(np.isfinite(float(v)) for v in metrics.values())
  assert float(metrics["noise"]) > 0 and float(metrics["residual"]) > 0
  # Two pairs are within 0.1 m/s and subjects 0, 1 are both in the batch.
  assert float(metrics["identity"]) > 0 and float(metrics["subject"]) > 0
  np.testing.assert_allclose(
      float(loss), float(metrics["noise"] + metrics["residual"]
                         + metrics["identity"] + 0.1 * metrics["subject"]),
      rtol=1e-5)


def test_diffusion_loss_finite_with_gradients(tiny):
  model, params, batch = tiny
  loss_and_grad = jax.jit(jax.value_and_grad(
      _loss_fn(model, batch, "eps", True), has_aux=True))
  (loss, metrics), grads = loss_and_grad(params, jax.random.key(1))
  _check_metrics(loss, metrics)
  assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
  # The encoder learns (through the conditioning and the subject term).
  enc = jax.tree.leaves(grads["subject_encoder"])
  assert sum(float(jnp.sum(jnp.abs(g))) for g in enc) > 0
  # Same rng -> same value (t, eps and dropout come from the key).
  (loss2, _), _ = loss_and_grad(params, jax.random.key(1))
  assert float(loss2) == float(loss)


def test_diffusion_loss_v_prediction_without_residual(tiny):
  model, params, batch = tiny
  loss, metrics = jax.jit(_loss_fn(model, batch, "v", False))(
      params, jax.random.key(2))
  _check_metrics(loss, metrics)


def test_identity_term_is_strict_at_exactly_0_1_mps_like_the_pairs():
  # Float32 speeds of the 0.05 m/s grid: 52 ordered pairs are nominally
  # exactly 0.1 m/s apart; in float32 16 of them differ by a hair less than
  # 0.1 (e.g. 0.65 - 0.55 = 0.099999964), which the old `|dv| < 0.1` test in
  # the loss counted as near-identity while pairs.py called them cross.
  grid = np.round(np.arange(0.5, 1.851, 0.05), 2).astype(np.float32)
  v_src, v_tgt = (a.ravel() for a in np.meshgrid(grid, grid))
  nominal = np.round(np.abs(v_tgt.astype(np.float64) - v_src), 2)
  at_threshold = nominal == 0.1
  assert at_threshold.sum() == 52
  assert (np.abs(v_tgt - v_src) < np.float32(0.1))[at_threshold].sum() == 16
  near = np.asarray(pairs.is_near_or_identity(
      jnp.asarray(v_src), jnp.asarray(v_tgt), 0.1, xp=jnp))
  assert not near[at_threshold].any()
  # One rule in both places: the loss's mask == the pair categories.
  cats = pairs.pair_category(v_src, v_tgt, near=0.1)
  np.testing.assert_array_equal(near, cats != pairs.CROSS)
  assert set(cats[at_threshold]) == {pairs.CROSS}
  # And the loss itself: a pair 0.1 apart contributes nothing.
  r0_hat = jnp.ones((2, T, F))
  v_s = jnp.asarray([0.55, 0.5], jnp.float32)
  v_t = jnp.asarray([0.65, 0.55], jnp.float32)
  assert float(v_t[0] - v_s[0]) < 0.1                 # the float32 trap
  assert float(identity_preservation(
      r0_hat * jnp.array([3.0, 1.0])[:, None, None], v_s, v_t)) == 1.0


def test_default_loss_is_eq7_unweighted_and_alpha2_is_the_variant(tiny):
  from configs.variants import x0_weighting
  assert losses.LossConfig().x0_weighting == "none"
  assert losses.LossConfig.from_config(
      default.get_config().loss).x0_weighting == "none"
  assert losses.LossConfig.from_config(
      x0_weighting.get_config().loss).x0_weighting == "alpha2"
  model, params, batch = tiny
  rng = jax.random.key(3)
  _, plain = jax.jit(_loss_fn(model, batch, "eps", True))(params, rng)
  _, weighted = jax.jit(_loss_fn(model, batch, "eps", True,
                                 x0_weighting="alpha2"))(params, rng)
  # Same t, eps, prediction; alpha_t^2 <= 1 only shrinks those terms.
  assert float(plain["noise"]) == float(weighted["noise"])
  assert float(weighted["residual"]) < float(plain["residual"])
  assert float(plain["x0_mse"]) == float(weighted["x0_mse"])


def test_reused_subject_embedding_matches_the_two_pass_loss(tiny):
  # Issue 13: the contrastive term reuses z_src from the conditioning pass.
  # Same function: loss, metrics and gradients of both paths agree to f32
  # rounding (a wrong reuse, e.g. z_gen in place of z_src, moves 'subject').
  model, params, batch = tiny
  grads = {}
  for reuse in (True, False):
    fn = jax.jit(jax.value_and_grad(
        _loss_fn(model, batch, "eps", True, reuse_subject_embedding=reuse),
        has_aux=True))
    (loss, metrics), grads[reuse] = fn(params, jax.random.key(3))
    grads[reuse] = (float(loss), {k: float(v) for k, v in metrics.items()},
                    grads[reuse])
  (l1, m1, g1), (l0, m0, g0) = grads[True], grads[False]
  assert m1["subject"] > 0
  np.testing.assert_allclose(l1, l0, rtol=1e-5)
  for k in m0:
    np.testing.assert_allclose(m1[k], m0[k], rtol=1e-5, atol=1e-7)
  flat1, flat0 = (np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)])
                  for g in (g1, g0))
  # Whole-gradient relative error: single leaves near zero (sums that
  # nearly cancel) differ by reassociation noise only.
  assert np.linalg.norm(flat1 - flat0) <= 1e-4 * np.linalg.norm(flat0)
  np.testing.assert_allclose(flat1, flat0, rtol=0,
                             atol=1e-4 * np.max(np.abs(flat0)))


def test_reused_subject_embedding_runs_the_encoder_on_fewer_rows(tiny):
  model, params, batch = tiny
  rows = {}
  for reuse in (True, False):
    seen = []

    def count(next_fun, args, kwargs, context, seen=seen):
      if (isinstance(context.module, SubjectEncoder)
          and context.method_name == "__call__"):
        seen.append(args[0].shape[0])
      return next_fun(*args, **kwargs)

    with nn.intercept_methods(count):
      jax.eval_shape(_loss_fn(model, batch, "eps", True,
                              reuse_subject_embedding=reuse), params,
                     jax.random.key(3))
    rows[reuse] = seen
  assert rows == {True: [B, B], False: [B, 2 * B]}
