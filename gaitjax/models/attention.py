"""Attention kernels of the denoiser's blocks (the ``attention_fn`` of
``nn.MultiHeadDotProductAttention`` in denoiser.TransformerBlock).

* ``chunked_attention``: softmax(q k^T / sqrt(d)) v on [B, L, H, d], the
  math of ``flax.linen.dot_product_attention`` arranged for XLA:CPU's caches
  (normalise the output, not the weights; on CPU, batch rows in groups whose
  scores fit about one core's L2 cache, differentiated by a FlashAttention-
  style backward that recomputes each group's probabilities).
* ``apply_rotary`` / ``rotary_attention``: rotary position embedding of
  queries and keys (Su et al. 2021), for config.model.pos_embedding='rotary'.

No parameters live here: the layers' parameters are flax's own, so
checkpoints do not depend on which kernel computed them.
"""
import functools
from typing import Any, Optional, Tuple

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
      The grouped path has a hand-written backward that recomputes each
      group's probabilities (_grouped_attention) instead of storing them.

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

  if max_chunk_elements is None:
    max_chunk_elements = (CPU_CHUNK_ELEMENTS if _chunk_on_this_backend()
                          else b * h * lq * lk)
  rows = _largest_divisor_at_most(b, max_chunk_elements // (h * lq * lk))
  softmax_dtype = jnp.float32 if force_fp32_for_softmax else dtype
  if rows >= b:
    return _attend(query, key, value, softmax_dtype, precision)[0]
  group = lambda x: x.reshape((b // rows, rows) + x.shape[1:])
  out = _grouped_attention(group(query), group(key), group(value),
                           softmax_dtype, precision)
  return out.reshape((b, lq, h, d))


def _attend(q: Array, k: Array, v: Array, softmax_dtype: Any,
            precision: Any) -> Tuple[Array, Array]:
  """Attention of pre-scaled q [.., Lq, H, d] over k, v [.., Lk, H, d].

  Returns (out [.., Lq, H, d], logsumexp of the scores [.., H, Lq]).
  """
  s = jnp.einsum("...qhd,...khd->...hqk", q, k, precision=precision)
  s = s.astype(softmax_dtype)
  m = lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))
  p = jnp.exp(s - m)
  denom = jnp.sum(p, axis=-1)                                # [.., H, Lq]
  # P @ V per head with the output heads-major ([.., H, Lq, d]): written
  # as "hqk,khd->qhd", XLA:CPU computed (V^T P^T) and transposed the
  # whole [H, Lq, Lk] P for it (~5 % of a paper-size denoise call); here
  # only the small V and the output are transposed (~1.3x faster
  # attention forward, same products).
  vh = jnp.swapaxes(v, -3, -2)                               # [.., H, Lk, d]
  out = jnp.einsum("...hqk,...hkd->...hqd", p.astype(q.dtype), vh,
                   precision=precision)
  out = out / denom[..., None].astype(out.dtype)
  lse = m[..., 0].astype(jnp.float32) + jnp.log(denom.astype(jnp.float32))
  return jnp.swapaxes(out, -3, -2).astype(q.dtype), lse


def _attend_backward(q: Array, k: Array, v: Array, lse: Array, g: Array,
                     softmax_dtype: Any, precision: Any
                     ) -> Tuple[Array, Array, Array]:
  """(dq, dk, dv) of _attend's output for the cotangent g [.., Lq, H, d].

  Recomputes the probabilities from q, k and the saved logsumexp instead
  of storing them (the FlashAttention backward): the [H, Lq, Lk] arrays of
  one group then live and die in cache.
  """
  qh, kh, vh, gh = (jnp.swapaxes(x, -3, -2) for x in (q, k, v, g))
  s = jnp.einsum("...hqd,...hkd->...hqk", qh, kh, precision=precision)
  p = jnp.exp(s.astype(softmax_dtype) - lse[..., None].astype(softmax_dtype))
  dv = jnp.einsum("...hqk,...hqd->...hkd", p.astype(q.dtype), gh,
                  precision=precision)
  dp = jnp.einsum("...hqd,...hkd->...hqk", gh, vh,
                  precision=precision).astype(softmax_dtype)
  # The softmax's backward. sum_k p * dp equals sum_d g * out, which
  # FlashAttention uses; but XLA:CPU (jax 0.10) reduces that [L, H, d]
  # product ~50x slower than this in-cache row sum (29 ms vs ~2 ms per
  # paper-size layer).
  ds = (p * (dp - jnp.sum(p * dp, axis=-1, keepdims=True))).astype(q.dtype)
  dq = jnp.einsum("...hqk,...hkd->...hqd", ds, kh, precision=precision)
  dk = jnp.einsum("...hqk,...hqd->...hkd", ds, qh, precision=precision)
  return tuple(jnp.swapaxes(x, -3, -2).astype(q.dtype) for x in (dq, dk, dv))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _grouped_attention(q: Array, k: Array, v: Array, softmax_dtype: Any,
                       precision: Any) -> Array:
  """_attend over groups of batch rows, one group at a time (lax.map).

  q, k, v: [G, rows, L, H, d] -> [G, rows, Lq, H, d]. Differentiated by a
  hand-written backward (below): autodiff of the loop stored every group's
  probabilities ([G, rows, H, Lq, Lk], 92 MB per layer at paper size) and
  streamed them through memory again in the backward.
  """
  return lax.map(lambda qkv: _attend(*qkv, softmax_dtype, precision)[0],
                 (q, k, v))


def _grouped_attention_fwd(q, k, v, softmax_dtype, precision):
  out, lse = lax.map(lambda qkv: _attend(*qkv, softmax_dtype, precision),
                     (q, k, v))
  return out, (q, k, v, lse)


def _grouped_attention_bwd(softmax_dtype, precision, residuals, g):
  return lax.map(lambda a: _attend_backward(*a, softmax_dtype, precision),
                 residuals + (g,))


_grouped_attention.defvjp(_grouped_attention_fwd, _grouped_attention_bwd)


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
