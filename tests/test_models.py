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
  # Tests jit every call: compiled (and persistently cached) programs are
  # faster than eager dispatch, and one jit per test keeps compiles few.
  init = jax.jit(lambda k, *a: model.init(k, *a, train=False)["params"])
  return init(jax.random.key(1), *args)




def _perturb(tree, scale, seed=3):
  leaves, treedef = jax.tree.flatten(tree)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  return jax.tree.unflatten(treedef, [
      l + scale * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)])


@pytest.fixture(scope="module")
def base():
  """(model, params, args) of the tiny model with 4-frame patches."""
  model = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4)
  args = _inputs()
  return model, _init(model, args), args


def _parts(model, p, r_t, x_cond, x_src, v_src, v_tgt, t):
  """(__call__, encode, subject_embedding, denoise(encode)) outputs."""
  v = {"params": p}
  out = model.apply(v, r_t, x_cond, x_src, v_src, v_tgt, t, train=False)
  cond = model.apply(v, x_src, v_src, v_tgt, method=model.encode)
  emb = model.apply(v, x_src, method=model.subject_embedding)
  out2 = model.apply(v, r_t, x_cond, cond, t, train=False,
                     method=model.denoise)
  return out, cond, emb, out2


def test_patch1_shapes_by_tracing():
  # Patch 1 (the paper's) is checked by abstract evaluation: same code path
  # as patch 4 below, without paying another compilation.
  model = GaitDiffusionModel(**TINY, patch_size=1, lstm_patch_size=1)
  args = _inputs()
  params = jax.eval_shape(lambda: model.init(jax.random.key(0), *args,
                                             train=False)["params"])
  assert params["denoiser"]["pos_embedding"].shape == (T, TINY["width"])
  assert params["denoiser"]["embed"]["kernel"].shape == (2 * F, 32)
  out, cond, emb, out2 = jax.eval_shape(
      lambda p: _parts(model, p, *args), params)
  assert out.shape == out2.shape == (B, T, F) and out.dtype == jnp.float32
  assert cond.shape == (B, TINY["cond_dim"])
  assert emb.shape == (B, TINY["subject_embed_dim"])


def test_patch4_forward_and_one_init_creates_all_parameters(base):
  model, params, args = base
  assert set(params) == {"subject_encoder", "conditioner", "time_embedding",
                         "denoiser"}
  assert params["denoiser"]["embed"]["kernel"].shape == (4 * 2 * F, 32)
  assert params["denoiser"]["head"]["kernel"].shape == (32, 4 * F)
  out, cond, emb, out2 = jax.jit(lambda p, *a: _parts(model, p, *a))(
      params, *args)
  assert out.shape == (B, T, F) and out.dtype == jnp.float32
  assert np.all(np.isfinite(out))
  assert cond.shape == (B, TINY["cond_dim"])
  assert emb.shape == (B, TINY["subject_embed_dim"])
  np.testing.assert_allclose(np.linalg.norm(emb, axis=-1), 1.0, rtol=1e-5)
  # __call__ is exactly denoise(encode(...)).
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

  @jax.jit
  def run(key):
    params = film_block.init(key, h, c, train=False)["params"]
    plain = {k: v for k, v in params.items() if not k.startswith("film")}
    out_film = film_block.apply({"params": params}, h, c, train=False)
    out_plain = plain_block.apply({"params": plain}, h, None, train=False)
    moved = dict(params, film_attn=_perturb(params["film_attn"], 0.1))
    out_mod = film_block.apply({"params": moved}, h, c, train=False)
    return params, out_film, out_plain, out_mod

  params, out_film, out_plain, out_mod = run(jax.random.key(2))
  assert set(params) >= {"film_attn", "film_mlp", "attn", "mlp"}
  np.testing.assert_allclose(out_film, out_plain, rtol=1e-6, atol=1e-6)
  # Non-zero FiLM parameters do modulate (the comparison above can fail).
  assert np.max(np.abs(out_mod - out_plain)) > 1e-3


def test_conditioning_has_no_effect_at_init_then_does(base):
  model, params, (r_t, x_cond, x_src, v_src, v_tgt, t) = base
  apply = jax.jit(lambda p, xs, vt, tt: model.apply(
      {"params": p}, r_t, x_cond, xs, v_src, vt, tt, train=False))
  out = apply(params, x_src, v_tgt, t)
  other = apply(params, x_src[::-1], v_tgt + 0.7, (t + 137) % 1000)
  np.testing.assert_allclose(out, other, rtol=1e-6, atol=1e-6)
  # Once FiLM weights move away from zero, speed and subject matter.
  params = dict(params)
  params["denoiser"] = jax.tree.map(lambda x: x, params["denoiser"])
  for i in range(TINY["num_layers"]):
    blk = params["denoiser"][f"block_{i}"]
    blk["film_attn"] = _perturb(blk["film_attn"], 0.2, seed=i)
  out = apply(params, x_src, v_tgt, t)
  assert np.max(np.abs(out - apply(params, x_src, v_tgt + 0.7, t))) > 1e-4
  assert np.max(np.abs(out - apply(params, x_src[::-1], v_tgt, t))) > 1e-4


def test_ablation_variants_run():
  args = _inputs()
  args2 = args[:4] + (args[4] + 0.5, args[5])
  no_film = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                               use_film=False)

  @jax.jit
  def run_no_film(key):
    p = no_film.init(key, *args, train=False)["params"]
    return (p, no_film.apply({"params": p}, *args, train=False),
            no_film.apply({"params": p}, *args2, train=False))

  params, out, out2 = run_no_film(jax.random.key(0))
  assert "cond_to_tokens" in params["denoiser"]
  assert "film_attn" not in params["denoiser"]["block_0"]
  assert out.shape == (B, T, F)
  # Without FiLM, the conditioning enters through the input tokens at init.
  assert np.max(np.abs(out - out2)) > 1e-5

  no_subj = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                               use_subject_encoder=False)

  # Traced, not compiled (the rest of the path is the one run above).
  params, out = jax.eval_shape(lambda: (
      no_subj.init(jax.random.key(0), *args, train=False)["params"],
      no_subj.apply(no_subj.init(jax.random.key(0), *args, train=False),
                    *args, train=False)))
  assert "subject_encoder" not in params
  assert params["conditioner"]["combine"]["kernel"].shape == (
      TINY["speed_hidden"], TINY["cond_dim"])
  assert out.shape == (B, T, F)
  with pytest.raises(ConfigError, match="use_subject_encoder"):
    no_subj.apply({"params": params}, args[2],
                  method=no_subj.subject_embedding)


def test_dropout_only_in_training(base):
  _, params, args = base
  model = GaitDiffusionModel(**{**TINY, "dropout": 0.5}, patch_size=4,
                             lstm_patch_size=4)

  @jax.jit
  def run(p):
    outs = []
    for train in (False, True):
      for seed in (0, 1):
        outs.append(model.apply({"params": p}, *args, train=train,
                                rngs={"dropout": jax.random.key(seed)}))
    return outs

  eval0, eval1, train0, train1 = run(params)
  np.testing.assert_array_equal(eval0, eval1)
  assert np.max(np.abs(train0 - train1)) > 1e-4


def test_bfloat16_forward_returns_float32(base):
  f32, params, args = base
  bf16 = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                            dtype="bfloat16")
  # Same parameter tree, all float32 whatever the compute dtype.
  shapes = jax.eval_shape(lambda: bf16.init(jax.random.key(0), *args,
                                            train=False)["params"])
  assert jax.tree.structure(shapes) == jax.tree.structure(params)
  assert all(l.dtype == jnp.float32 for l in jax.tree.leaves(shapes))
  out, ref = jax.jit(lambda p: (
      bf16.apply({"params": p}, *args, train=False),
      f32.apply({"params": p}, *args, train=False)))(params)
  assert out.dtype == jnp.float32 and np.all(np.isfinite(out))
  assert np.max(np.abs(out - ref)) > 0  # really computed in bf16
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
  z = jax.jit(lambda k: enc.apply(enc.init(k, x), x))(jax.random.key(1))
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


def test_output_head_runs_in_float32_under_bf16():
  """With eps-prediction x0 = (z - sigma*eps)/alpha multiplies the head's
  rounding by sigma/alpha; the head (and the final norm) stay float32."""
  args = _inputs()
  bf16 = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                            dtype="bfloat16")

  @jax.jit
  def run(key):
    p = bf16.init(key, *args, train=False)["params"]
    _, state = bf16.apply({"params": p}, *args, train=False,
                          capture_intermediates=True)
    return state["intermediates"]["denoiser"]

  inter = run(jax.random.key(0))
  assert inter["block_1"]["__call__"][0].dtype == jnp.bfloat16
  assert inter["ln_out"]["__call__"][0].dtype == jnp.float32
  assert inter["head"]["__call__"][0].dtype == jnp.float32
  # The head's matmul itself is float32 (not a bf16 result cast up): no
  # bf16 dot_general produces the [.., p*F] output.
  jaxpr = str(jax.make_jaxpr(lambda p: bf16.apply({"params": p}, *args,
                                                  train=False))(
      jax.eval_shape(lambda: bf16.init(jax.random.key(0), *args,
                                       train=False)["params"])))
  head_dims = f"{4 * F}]"
  head_dots = [l for l in jaxpr.splitlines()
               if "dot_general" in l and head_dims in l.split("=")[0]]
  assert head_dots and all("bf16" not in l.split("=")[0] for l in head_dots)


def test_rotary_depends_only_on_relative_position():
  from gaitjax.models.attention import apply_rotary
  k = jax.random.split(jax.random.key(0), 2)
  q = jnp.broadcast_to(jax.random.normal(k[0], (1, 1, 2, 8)), (1, 12, 2, 8))
  kk = jnp.broadcast_to(jax.random.normal(k[1], (1, 1, 2, 8)), (1, 12, 2, 8))
  rq, rk = apply_rotary(q), apply_rotary(kk)
  s = jnp.einsum("blhd,bmhd->bhlm", rq, rk)[0, 0]
  # Score of (l, m) equals that of (l + 3, m + 3); norms are kept.
  np.testing.assert_allclose(s[:9, :9], s[3:, 3:], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(jnp.linalg.norm(rq, axis=-1),
                             jnp.linalg.norm(q, axis=-1), rtol=1e-6)
  np.testing.assert_allclose(rq[:, 0], q[:, 0])          # position 0
  assert np.max(np.abs(s[0, 1] - s[0, 5])) > 1e-4        # positions matter


def test_gaitdynamics_backbone_variant():
  """FiLM on sublayer outputs + rotary positions + no final norm."""
  args = _inputs()
  gd = GaitDiffusionModel(**TINY, patch_size=4, lstm_patch_size=4,
                          film_placement="output", pos_embedding="rotary",
                          final_norm=False)

  @jax.jit
  def run(key):
    p = gd.init(key, *args, train=False)["params"]
    out = gd.apply({"params": p}, *args, train=False)
    shifted = gd.apply({"params": p}, *args[:5], (args[5] + 300) % 1000,
                       train=False)
    return p, out, shifted

  params, out, shifted = run(jax.random.key(0))
  den = params["denoiser"]
  assert "pos_embedding" not in den and "ln_out" not in den
  assert {"film_attn", "film_mlp"} <= set(den["block_0"])
  assert out.shape == (B, T, F) and np.all(np.isfinite(out))
  # FiLM is zero-initialised in both placements: no conditioning at init.
  np.testing.assert_allclose(out, shifted, rtol=1e-6, atol=1e-6)
  # The two placements differ once FiLM moves (same block parameters).
  h = jax.random.normal(jax.random.key(4), (B, 10, 32))
  c = jax.random.normal(jax.random.key(5), (B, 16))
  blk_in = TransformerBlock(num_heads=2, mlp_dim=64)
  blk_out = TransformerBlock(num_heads=2, mlp_dim=64, film_placement="output")
  p = blk_in.init(jax.random.key(6), h, c, train=False)["params"]
  p = dict(p, film_attn=_perturb(p["film_attn"], 0.2),
           film_mlp=_perturb(p["film_mlp"], 0.2, seed=9))
  a = blk_in.apply({"params": p}, h, c, train=False)
  b = blk_out.apply({"params": p}, h, c, train=False)
  assert np.max(np.abs(a - b)) > 1e-3
  with pytest.raises(ConfigError, match="film_placement"):
    GaitDiffusionModel.from_config(dict(TINY, film_placement="middle"))
  with pytest.raises(ConfigError, match="rotary"):
    GaitDiffusionModel.from_config(dict(TINY, width=30, num_heads=2,
                                        pos_embedding="rotary"))
