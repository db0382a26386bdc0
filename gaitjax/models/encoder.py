"""Subject encoder (paper II.D.2): a BiLSTM over the source gait, L2-normed.

The subject is described by its source recording, not a label, so the model
works for subjects it never saw. ``lstm_patch_size`` frames can be grouped
into one LSTM step ([B, T, 6] -> [B, T/p, p*6]): the recurrence is
sequential, so on CPUs 600 steps dominate the run time; p = 1 is the paper.
"""
import chex
import flax.linen as nn
import jax.numpy as jnp

from gaitjax.errors import ConfigError

Array = jnp.ndarray


def patchify(x: Array, patch_size: int, field: str = "patch_size") -> Array:
  """Groups frames: x [B, T, F] -> [B, T/p, p*F] (frame-major inside a patch).

  Raises ConfigError (naming config.model.<field>) if p does not divide T.
  """
  chex.assert_rank(x, 3)
  b, t, f = x.shape
  if patch_size < 1 or t % patch_size:
    raise ConfigError(f"config.model.{field}={patch_size} must be >= 1 and "
                      f"divide the sequence length {t}")
  return x.reshape(b, t // patch_size, patch_size * f)


def unpatchify(x: Array, patch_size: int, num_features: int) -> Array:
  """Inverse of patchify: [B, T/p, p*F] -> [B, T, F]."""
  chex.assert_rank(x, 3)
  b, n, pf = x.shape
  chex.assert_equal(pf, patch_size * num_features)
  return x.reshape(b, n * patch_size, num_features)


def l2_normalize(x: Array, axis: int = -1, eps: float = 1e-6) -> Array:
  """x / max(||x||, eps) along `axis`."""
  norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
  return x / jnp.maximum(norm, eps)


class SubjectEncoder(nn.Module):
  """x [B, T, F] -> unit-norm subject embedding z_s [B, embed_dim].

  Attributes:
    hidden: LSTM units per direction.
    embed_dim: size of the embedding.
    patch_size: frames per LSTM step.
    pool: 'mean' (over time of both directions' outputs) or 'last' (final
      forward state and final backward state, i.e. outputs at T-1 and 0).

  Runs in float32 whatever the denoiser's dtype: it is a small part of the
  compute, and a 600-step bf16 recurrence would lose precision.
  """
  hidden: int = 64
  embed_dim: int = 64
  patch_size: int = 1
  pool: str = "mean"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    chex.assert_rank(x, 3)
    b = x.shape[0]
    steps = patchify(x.astype(jnp.float32), self.patch_size,
                     field="lstm_patch_size")
    bilstm = nn.Bidirectional(
        nn.RNN(nn.OptimizedLSTMCell(self.hidden), name="forward"),
        nn.RNN(nn.OptimizedLSTMCell(self.hidden), name="backward"),
        name="bilstm")
    out = bilstm(steps)  # [B, T/p, 2H]: forward ++ backward
    if self.pool == "mean":
      pooled = jnp.mean(out, axis=1)
    elif self.pool == "last":
      pooled = jnp.concatenate([out[:, -1, :self.hidden],
                                out[:, 0, self.hidden:]], axis=-1)
    else:
      raise ConfigError(f"subject encoder pool must be 'mean' or 'last', got "
                        f"{self.pool!r}")
    z = l2_normalize(nn.Dense(self.embed_dim, name="proj")(pooled))
    chex.assert_shape(z, (b, self.embed_dim))
    return z
