"""Tests of gaitjax.models: shapes, FiLM identity at init, ablations, dtypes."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gaitjax.errors import ConfigError
from gaitjax.models import (GaitDiffusionModel, SubjectEncoder,
                            TransformerBlock, model_flops_breakdown)
from gaitjax.models.encoder import patchify, unpatchify

B, T, F = 3, 40, 6
TINY = dict(width=32, num_layers=2, num_heads=2, mlp_dim=64, dropout=0.0,
            cond_dim=16, time_embed_dim=32, subject_embed_dim=8,
            lstm_hidden=8, speed_hidden=16)


def _inputs(seed=0):
  k = jax.random.split(jax.random.key(seed), 4)
  r_t = jax.random.normal(k[0], (B, T, F))
  x_cond = jax.random.normal(k[1], (B, T, F))
  x_src = jax.random.normal(k[2], (B, T, F))
  v_src = jnp.array([0.5, 1.0, 1.5])
  v_tgt = jnp.array([0.6, 1.0, 0.8])
  t = jnp.array([0, 500, 999], jnp.int32)
  return r_t, x_cond, x_src, v_src, v_tgt, t


def _init(model, args):
  return model.init(jax.random.key(1), *args, train=False)["params"]


def _perturb(tree, scale, seed=3):
  leaves, treedef = jax.tree.flatten(tree)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  return jax.tree.unflatten(treedef, [
      l + scale * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)])


@pytest.mark.parametrize("patch", [1, 4])
def test_shapes_and_one_init_creates_all_parameters(patch):
  model = GaitDiffusionModel(**TINY, patch_size=patch, lstm_patch_size=patch)
  args = _inputs()
  params = _init(model, args)
  assert set(params) == {"subject_encoder", "conditioner", "time_embedding",
                         "denoiser"}
  out = model.apply({"params": params}, *args, train=False)
  assert out.shape == (B, T, F) and out.dtype == jnp.float32
  assert np.all(np.isfinite(out))
  cond = model.apply({"params": params}, *args[2:5], method=model.encode)
  assert cond.shape == (B, TINY["cond_dim"])
  emb = model.apply({"params": params}, args[2],
                    method=model.subject_embedding)
  assert emb.shape == (B, TINY["subject_embed_dim"])
  np.testing.assert_allclose(np.linalg.norm(emb, axis=-1), 1.0, rtol=1e-5)
  # __call__ is exactly denoise(encode(...)).
  out2 = model.apply({"params": params}, args[0], args[1], cond, args[5],
                     train=False, method=model.denoise)
  np.testing.assert_allclose(out, out2, rtol=1e-6, atol=1e-6)


def test_patchify_roundtrip_and_bad_patch():
  x = jnp.arange(2 * 8 * 3, dtype=jnp.float32).reshape(2, 8, 3)
  p = patchify(x, 4)
  assert p.shape == (2, 2, 12)
  np.testing.assert_array_equal(p[0, 1, :3], x[0, 4])  # frame-major
  np.testing.assert_array_equal(unpatchify(p, 4, 3), x)
  with pytest.raises(ConfigError, match="patch_size"):
    patchify(x, 3)


def test_film_block_starts_as_plain_block():
  h = jax.random.normal(jax.random.key(0), (B, 10, 32))
  c = jax.random.normal(jax.random.key(1), (B, 16))
  film_block = TransformerBlock(num_heads=2, mlp_dim=64, use_film=True)
  plain_block = TransformerBlock(num_heads=2, mlp_dim=64, use_film=False)
  params = film_block.init(jax.random.key(2), h, c, train=False)["params"]
  plain_params = {k: v for k, v in params.items() if not k.startswith("film")}
  assert set(params) - set(plain_params) == {"film_attn", "film_mlp"}
  out_film = film_block.apply({"params": params}, h, c, train=False)
  out_plain = plain_block.apply({"params": plain_params}, h, None, train=False)
  np.testing.assert_allclose(out_film, out_plain, rtol=1e-6, atol=1e-6)
  # Non-zero FiLM parameters do modulate (the comparison above can fail).
  params["film_attn"] = _perturb(params["film_attn"], 0.1)
  out_mod = film_block.apply({"params": params}, h, c, train=False)
  assert np.max(np.abs(out_mod - out_plain)) > 1e-3


def test_conditioning_has_no_effect_at_init_then_does():
  model = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4)
  r_t, x_cond, x_src, v_src, v_tgt, t = _inputs()
  params = _init(model, (r_t, x_cond, x_src, v_src, v_tgt, t))
  apply = jax.jit(lambda p, xs, vt, tt: model.apply(
      {"params": p}, r_t, x_cond, xs, v_src, vt, tt, train=False))
  base = apply(params, x_src, v_tgt, t)
  other = apply(params, x_src[::-1], v_tgt + 0.7, (t + 137) % 1000)
  np.testing.assert_allclose(base, other, rtol=1e-6, atol=1e-6)
  # Once FiLM weights move away from zero, speed and subject matter.
  params = dict(params)
  params["denoiser"] = jax.tree.map(lambda x: x, params["denoiser"])
  for i in range(TINY["num_layers"]):
    blk = params["denoiser"][f"block_{i}"]
    blk["film_attn"] = _perturb(blk["film_attn"], 0.2, seed=i)
  base = apply(params, x_src, v_tgt, t)
  assert np.max(np.abs(base - apply(params, x_src, v_tgt + 0.7, t))) > 1e-4
  assert np.max(np.abs(base - apply(params, x_src[::-1], v_tgt, t))) > 1e-4


def test_ablation_variants_run():
  args = _inputs()
  no_film = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                               use_film=False)
  params = _init(no_film, args)
  assert "cond_to_tokens" in params["denoiser"]
  assert "film_attn" not in params["denoiser"]["block_0"]
  out = no_film.apply({"params": params}, *args, train=False)
  assert out.shape == (B, T, F)
  # Without FiLM, the conditioning enters through the input tokens at init.
  args2 = args[:4] + (args[4] + 0.5, args[5])
  out2 = no_film.apply({"params": params}, *args2, train=False)
  assert np.max(np.abs(out - out2)) > 1e-5

  no_subj = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                               use_subject_encoder=False)
  params = _init(no_subj, args)
  assert "subject_encoder" not in params
  out = no_subj.apply({"params": params}, *args, train=False)
  assert out.shape == (B, T, F) and np.all(np.isfinite(out))
  with pytest.raises(ConfigError, match="use_subject_encoder"):
    no_subj.apply({"params": params}, args[2],
                  method=no_subj.subject_embedding)


def test_dropout_only_in_training():
  model = GaitDiffusionModel(**{**TINY, "dropout": 0.5}, patch_size=4,
                             lstm_patch_size=4)
  args = _inputs()
  params = _init(model, args)
  run = lambda seed, train: model.apply(
      {"params": params}, *args, train=train,
      rngs={"dropout": jax.random.key(seed)})
  np.testing.assert_array_equal(run(0, False), run(1, False))
  assert np.max(np.abs(run(0, True) - run(1, True))) > 1e-4


def test_bfloat16_forward_returns_float32():
  args = _inputs()
  f32 = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4)
  bf16 = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                            dtype="bfloat16")
  params = _init(bf16, args)
  assert all(l.dtype == jnp.float32 for l in jax.tree.leaves(params))
  out = bf16.apply({"params": params}, *args, train=False)
  ref = f32.apply({"params": params}, *args, train=False)
  assert out.dtype == jnp.float32 and np.all(np.isfinite(out))
  # bf16 has ~3 significant digits; the outputs are O(1).
  np.testing.assert_allclose(out, ref, atol=0.1)


def test_from_config_maps_fields_and_validates():
  cfg = ml_collections.ConfigDict(dict(TINY, name="diffusion", patch_size=10,
                                       lstm_patch_size=5, use_film=False,
                                       use_subject_encoder=True,
                                       dtype="float32"))
  model = GaitDiffusionModel.from_config(cfg)
  assert (model.width, model.patch_size, model.lstm_patch_size,
          model.use_film) == (32, 10, 5, False)
  with pytest.raises(ConfigError, match="dtype"):
    GaitDiffusionModel.from_config(dict(TINY, dtype="float16"))
  with pytest.raises(ConfigError, match="num_heads"):
    GaitDiffusionModel.from_config(dict(TINY, num_heads=5))


def test_encoder_last_pooling_and_subject_sensitivity():
  x = jax.random.normal(jax.random.key(0), (B, T, F))
  enc = SubjectEncoder(hidden=8, embed_dim=8, patch_size=2, pool="last")
  params = enc.init(jax.random.key(1), x)
  z = enc.apply(params, x)
  np.testing.assert_allclose(np.linalg.norm(z, axis=-1), 1.0, rtol=1e-5)
  assert np.max(np.abs(z[0] - z[1])) > 1e-4


def test_flops_estimate_matches_xla_for_the_denoiser():
  cfg = dict(TINY, patch_size=4, lstm_patch_size=4, use_film=True,
             use_subject_encoder=True)
  model = GaitDiffusionModel.from_config(cfg)
  seq = 80
  x = jnp.zeros((1, seq, F))
  t = jnp.zeros((1,), jnp.int32)
  cond = jnp.zeros((1, TINY["cond_dim"]))
  params = jax.eval_shape(lambda: model.init(
      jax.random.key(0), x, x, x, t.astype(jnp.float32),
      t.astype(jnp.float32), t, train=False))
  fn = lambda p: model.apply(p, x, x, cond, t, train=False,
                             method=model.denoise)
  cost = jax.jit(fn).lower(params).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  est = model_flops_breakdown(cfg, seq)["sampling_step"]
  # Only matmuls are counted; elementwise work is a few % at this size.
  assert 0.8 < est / cost["flops"] < 1.1, (est, cost["flops"])
