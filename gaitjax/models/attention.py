"""Attention kernels of the denoiser's blocks (the ``attention_fn`` of
``nn.MultiHeadDotProductAttention`` in denoiser.TransformerBlock).

* ``chunked_attention``: softmax(q k^T / sqrt(d)) v on [B, L, H, d], the
  math of ``flax.linen.dot_product_attention`` arranged for XLA:CPU's caches
  (normalise the output, not the weights; on CPU, batch rows in groups whose
  scores fit about one core's L2 cache).
* ``apply_rotary`` / ``rotary_attention``: rotary position embedding of
  queries and keys (Su et al. 2021), for config.model.pos_embedding='rotary'.

No parameters live here: the layers' parameters are flax's own, so
checkpoints do not depend on which kernel computed them.
"""
from typing import Any, Optional

import chex
import jax
import jax.numpy as jnp
from jax import lax

from gaitjax.errors import ConfigError

Array = jnp.ndarray

# Working-set budget (float32 elements, 4 MiB) of one chunk of attention
# scores on CPU: about one core's L2 cache. See chunked_attention for why
# chunking pays there (denoiser.MLPBlock has its own budget,
# denoiser.CPU_MLP_CHUNK_ELEMENTS).
CPU_CHUNK_ELEMENTS = 1 << 20


def _chunk_on_this_backend() -> bool:
  """Chunking helps XLA:CPU's cache use; on GPU/TPU it would serialise."""
  return jax.default_backend() == "cpu"


def _largest_divisor_at_most(n: int, cap: int) -> int:
  for d in range(max(1, min(n, cap)), 0, -1):
    if n % d == 0:
      return d
  return 1


def chunked_attention(query: Array, key: Array, value: Array, *,
                      mask: Optional[Array] = None,
                      dropout_rate: float = 0.0, deterministic: bool = True,
                      dtype: Any = None, precision: Any = None,
                      force_fp32_for_softmax: bool = False,
                      max_chunk_elements: Optional[int] = None) -> Array:
  """softmax(q k^T / sqrt(d)) v, the ``attention_fn`` of our attention layers.

  Same math and parameters as ``flax.linen.dot_product_attention`` (the
  default attention_fn; agrees to float32 rounding), but faster on XLA:CPU:
    * the softmax normalisation is applied to the output ([.., L, H, d])
      instead of the weights ([.., H, L, L]): one pass less over the
      largest array;
    * on CPU, batch rows are processed in groups (``lax.map``) whose scores
      fit about one core's L2 cache, instead of one [B, H, L, L] array that
      every step (matmul, max, exp, sum, matmul) streams through memory.
      At L = 600 tokens this is ~2.5x faster (benchmark.py's profile).

  Args:
    query, key, value: [B, L, H, d] (key/value may have another length).
    mask: must be None; dropout must be off (the model never uses either).
    dtype: compute dtype; force_fp32_for_softmax: softmax in float32 (bf16).
    max_chunk_elements: score elements per chunk (default: on CPU
      CPU_CHUNK_ELEMENTS, elsewhere no chunking).
  Returns:
    [B, Lq, H, d].
  """
  if mask is not None or not (deterministic or dropout_rate == 0.0):
    raise ValueError("chunked_attention supports no mask and no dropout")
  chex.assert_rank([query, key, value], 4)
  dtype = dtype or query.dtype
  b, lq, h, d = query.shape
  lk = key.shape[1]
  query = query.astype(dtype) / jnp.sqrt(d).astype(dtype)
  key, value = key.astype(dtype), value.astype(dtype)

  def attend(q, k, v):
    s = jnp.einsum("...qhd,...khd->...hqk", q, k, precision=precision)
    if force_fp32_for_softmax:
      s = s.astype(jnp.float32)
    s = s - lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))
    p = jnp.exp(s)
    denom = jnp.sum(p, axis=-1)                              # [.., H, Lq]
    # P @ V per head with the output heads-major ([.., H, Lq, d]): written
    # as "hqk,khd->qhd", XLA:CPU computed (V^T P^T) and transposed the
    # whole [H, Lq, Lk] P for it (~5 % of a paper-size denoise call); here
    # only the small V and the output are transposed (~1.3x faster
    # attention forward, same products).
    vh = jnp.swapaxes(v, -3, -2)                             # [.., H, Lk, d]
    out = jnp.einsum("...hqk,...hkd->...hqd", p.astype(dtype), vh,
                     precision=precision)
    out = out / denom[..., None].astype(out.dtype)
    return jnp.swapaxes(out, -3, -2).astype(dtype)           # [.., Lq, H, d]

  if max_chunk_elements is None:
    max_chunk_elements = (CPU_CHUNK_ELEMENTS if _chunk_on_this_backend()
                          else b * h * lq * lk)
  rows = _largest_divisor_at_most(b, max_chunk_elements // (h * lq * lk))
  if rows >= b:
    return attend(query, key, value)
  group = lambda x: x.reshape((b // rows, rows) + x.shape[1:])
  out = lax.map(lambda qkv: attend(*qkv), (group(query), group(key),
                                           group(value)))
  return out.reshape((b, lq, h, d))


def apply_rotary(x: Array, max_period: float = 10_000.0) -> Array:
  """Rotary position embedding (Su et al. 2021, RoFormer) of [B, L, H, d].

  Channel pairs (i, i + d/2) of the token at position l are rotated by the
  angle l * max_period^(-2i/d) (the "rotate half" layout of GPT-NeoX); the
  product of a rotated query and key then depends on their positions only
  through l_q - l_k. Computed in float32, returned in x's dtype; d must be
  even.
  """
  chex.assert_rank(x, 4)
  length, d = x.shape[1], x.shape[-1]
  if d % 2:
    raise ConfigError(f"rotary positions need an even head dimension "
                      f"(config.model.width / num_heads), got {d}")
  half = d // 2
  freqs = max_period ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angles = jnp.arange(length, dtype=jnp.float32)[:, None] * freqs[None]
  cos = jnp.cos(angles)[None, :, None, :]                   # [1, L, 1, d/2]
  sin = jnp.sin(angles)[None, :, None, :]
  x1, x2 = jnp.split(x.astype(jnp.float32), 2, axis=-1)
  out = jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)
  return out.astype(x.dtype)


def rotary_attention(query: Array, key: Array, value: Array, *,
                     mask: Optional[Array] = None,
                     dropout_rate: float = 0.0, deterministic: bool = True,
                     dtype: Any = None, precision: Any = None,
                     force_fp32_for_softmax: bool = False) -> Array:
  """chunked_attention after rotating queries and keys (apply_rotary)."""
  return chunked_attention(apply_rotary(query), apply_rotary(key), value,
                           mask=mask, dropout_rate=dropout_rate,
                           deterministic=deterministic, dtype=dtype,
                           precision=precision,
                           force_fp32_for_softmax=force_fp32_for_softmax)
