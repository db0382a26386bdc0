"""Subject, speed and timestep conditioning, and FiLM (paper II.D.2).

c = Dense(concat(z_s, MLP(speed features)))          (subject + speed)
cond = c + MLP(sinusoidal(t))                        (added per step)
FiLM(h, c) = (1 + gamma(c)) * h + beta(c)            (paper eq. 5)
"""
import math

import chex
import flax.linen as nn
import jax.numpy as jnp

Array = jnp.ndarray


def speed_features(v_src: Array, v_tgt: Array) -> Array:
  """[v_src, v_tgt, v_tgt - v_src, v_tgt / (v_src + 1e-6)] -> [B, 4] (eq. 4).

  Args:
    v_src, v_tgt: [B] speeds in m/s.
  """
  chex.assert_rank([v_src, v_tgt], 1)
  chex.assert_equal_shape([v_src, v_tgt])
  v_src = v_src.astype(jnp.float32)
  v_tgt = v_tgt.astype(jnp.float32)
  return jnp.stack([v_src, v_tgt, v_tgt - v_src, v_tgt / (v_src + 1e-6)],
                   axis=-1)


def sinusoidal_embedding(t: Array, dim: int, max_period: float = 10_000.0
                         ) -> Array:
  """Transformer/DDPM sinusoidal embedding of steps t [B] -> [B, dim].

  Frequencies max_period^(-k/half), k = 0..half-1; [sin, cos] halves (a zero
  column pads odd dims).
  """
  chex.assert_rank(t, 1)
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32)
                  / half)
  args = t.astype(jnp.float32)[:, None] * freqs[None, :]
  emb = jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)
  if dim % 2:
    emb = jnp.pad(emb, ((0, 0), (0, 1)))
  return emb


class SpeedSubjectConditioner(nn.Module):
  """(z_s [B, E] or None, v_src [B], v_tgt [B]) -> c [B, cond_dim].

  z_s = None is the no-subject-encoder ablation: c depends on speeds only.
  """
  cond_dim: int = 64
  speed_hidden: int = 64

  @nn.compact
  def __call__(self, z_subject, v_src: Array, v_tgt: Array) -> Array:
    feats = speed_features(v_src, v_tgt)
    h = nn.silu(nn.Dense(self.speed_hidden, name="speed_in")(feats))
    z_speed = nn.Dense(self.speed_hidden, name="speed_out")(h)
    if z_subject is None:
      joint = z_speed
    else:
      chex.assert_rank(z_subject, 2)
      chex.assert_equal(z_subject.shape[0], z_speed.shape[0])
      joint = jnp.concatenate([z_subject.astype(jnp.float32), z_speed], -1)
    return nn.Dense(self.cond_dim, name="combine")(joint)


class TimestepEmbedding(nn.Module):
  """t [B] int -> MLP(sinusoidal(t, embed_dim)) [B, cond_dim]."""
  embed_dim: int = 128
  cond_dim: int = 64

  @nn.compact
  def __call__(self, t: Array) -> Array:
    emb = sinusoidal_embedding(t, self.embed_dim)
    h = nn.silu(nn.Dense(self.embed_dim, name="in")(emb))
    return nn.Dense(self.cond_dim, name="out")(h)


class FiLM(nn.Module):
  """FiLM(h, c) = (1 + gamma(c)) * h + beta(c), one (gamma, beta) per channel.

  gamma and beta come from one zero-initialised Dense, so at initialisation
  the layer is exactly the identity and the conditioning starts with no
  effect (the network first learns an unconditional denoiser, then the
  modulation). The same (gamma, beta) is used for all tokens.

  Args (call):
    h: [B, L, D] hidden states.
    c: [B, C] conditioning.
  """
  dtype: str = "float32"

  @nn.compact
  def __call__(self, h: Array, c: Array) -> Array:
    chex.assert_rank([h, c], [3, 2])
    chex.assert_equal(h.shape[0], c.shape[0])
    d = h.shape[-1]
    gb = nn.Dense(2 * d, kernel_init=nn.initializers.zeros,
                  bias_init=nn.initializers.zeros, dtype=self.dtype,
                  name="gamma_beta")(c)
    gamma, beta = jnp.split(gb[:, None, :], 2, axis=-1)
    return (1 + gamma) * h + beta
