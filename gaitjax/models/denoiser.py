"""FiLM transformer denoiser and the full subject-conditioned model (II.D).

Data path of ``GaitDiffusionModel`` (B batch, T frames, F = 6 channels)::

  x_src [B,T,F] -> SubjectEncoder -> z_s [B,E] --+
  v_src, v_tgt [B] -> speed MLP ----------------+-> Dense -> c [B,C]   (encode)
  t [B] -> sinusoidal -> MLP -> + c = cond [B,C]
  concat(r_t, x_cond) [B,T,2F] -> patches [B,T/p,2pF] -> Dense(D) + pos
    -> num_layers x pre-norm block with FiLM(cond) -> LayerNorm
    -> Dense(pF) -> [B,T,F]  (float32)                               (denoise)

The paper gives FiLM's formula (eq. 5) and says the denoiser is built on
the GaitDynamics transformer encoder; where FiLM sits, the position code and
the last norm are not stated. Two forms (config.model):

* film_placement='input' (default, [ours]): inside every block FiLM
  modulates the LayerNorm output that feeds each sublayer (attention and
  MLP), i.e. twice per block, the adaLN form of DiT (Peebles & Xie 2023)
  without its gate. The conditioning sets each sublayer's operating point
  while the residual stream keeps its scale.
  film_placement='output' (GaitDynamics, after the EDGE transformer it
  derives from): FiLM modulates each sublayer's output before it is added
  to the residual stream, h = h + FiLM(sublayer(LN(h)), c).
  Both FiLMs are zero-initialised, so every block starts as a plain
  pre-norm block. The FiLM projections read silu(cond) (as DiT does).
* pos_embedding='learned' (default, [ours]: T/p is fixed, 600 tokens) |
  'sinusoidal' | 'rotary' (GaitDynamics: rotary position embedding of
  queries and keys in every attention layer, Su et al. 2021; no absolute
  position is added to the tokens).
* final_norm=True (default, [ours]: the usual pre-norm closing LayerNorm)
  | False (GaitDynamics: the head reads the last block's output).

configs/variants/gaitdynamics_film.py switches all three (plus EMA).

dtype: 'float32' or 'bfloat16' is the compute dtype of the transformer
blocks (parameters stay float32, attention softmax runs in float32 under
bf16); the subject encoder, conditioning MLPs, the final LayerNorm and the
output head always run in float32: with eps-prediction the sampler and the
loss compute x0 = (z - sigma*eps)/alpha, which multiplies the head's
rounding error by sigma/alpha (~70 at t = 990 of the cosine schedule, ~160
at t = 999 of the linear one), so bf16's 3 significant digits there would be
visible in the generated gait.
"""
import dataclasses
from typing import Any, Optional, Tuple

import chex
import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from gaitjax.errors import ConfigError
from gaitjax.models.attention import _chunk_on_this_backend
from gaitjax.models.attention import chunked_attention
from gaitjax.models.attention import rotary_attention
from gaitjax.models.conditioning import FiLM
from gaitjax.models.conditioning import SpeedSubjectConditioner
from gaitjax.models.conditioning import sinusoidal_embedding
from gaitjax.models.conditioning import TimestepEmbedding
from gaitjax.models.encoder import SubjectEncoder, patchify, unpatchify

Array = jnp.ndarray

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
POS_EMBEDDINGS = ("learned", "sinusoidal", "rotary")
FILM_PLACEMENTS = ("input", "output")


def compute_dtype(name: str):
  """'float32' | 'bfloat16' -> jnp dtype (ConfigError otherwise)."""
  if name not in DTYPES:
    raise ConfigError(f"config.model.dtype must be one of {tuple(DTYPES)}, "
                      f"got {name!r}")
  return DTYPES[name]


# MLP rows per chunk are sized to this many hidden activations (1 MiB, on
# CPU only; see attention.CPU_CHUNK_ELEMENTS for the attention's budget): the
# fc1 output of a chunk is then still in cache when GELU and fc2 read it.
CPU_MLP_CHUNK_ELEMENTS = 1 << 18


class _DenseParams(nn.Module):
  """The kernel [in, out] and bias [out] of an nn.Dense, without applying it.

  Same names, shapes, initialisers and (through the module path) init rngs
  as nn.Dense, so checkpoints are interchangeable with a plain Dense.
  """
  features: int

  @nn.compact
  def __call__(self, in_features: int):
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (in_features, self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return kernel, bias


class MLPBlock(nn.Module):
  """Dense(mlp_dim) -> GELU -> Dense(width).

  On CPU and with train=False (sampling, evaluation), token rows go through
  the MLP in chunks (``lax.map``) of about CPU_MLP_CHUNK_ELEMENTS hidden
  activations, so fc1's output is still in cache when GELU and fc2 read it
  (~1.3x at paper size); the result is identical. Training does not chunk:
  the backward pass of the loop is slower than the plain one (measured
  0.49 s vs 0.35 s per fwd+bwd at paper size). Parameters:
  fc1/{kernel,bias}, fc2/{kernel,bias}, exactly as two nn.Dense.

  Args (call): h: [..., width]. train: whether this call is differentiated.
  """
  mlp_dim: int
  dtype: Any = jnp.float32
  max_chunk_elements: Optional[int] = None

  @nn.compact
  def __call__(self, h: Array, *, train: bool = False) -> Array:
    width = h.shape[-1]
    w1, b1 = _DenseParams(self.mlp_dim, name="fc1")(width)
    w2, b2 = _DenseParams(width, name="fc2")(self.mlp_dim)
    w1, b1, w2, b2 = (x.astype(self.dtype) for x in (w1, b1, w2, b2))

    def mlp(x):
      y = nn.gelu(jnp.dot(x, w1) + b1)
      return jnp.dot(y, w2) + b2

    x = h.astype(self.dtype).reshape(-1, width)
    n = x.shape[0]
    budget = self.max_chunk_elements
    if budget is None:
      budget = (CPU_MLP_CHUNK_ELEMENTS if _chunk_on_this_backend()
                else n * self.mlp_dim)
    rows = max(1, budget // self.mlp_dim)
    # Small problems fit in cache whole: a loop would only add overhead.
    if train or n * self.mlp_dim <= 4 * budget or rows >= n:
      return mlp(x).reshape(h.shape[:-1] + (width,))
    num_chunks = -(-n // rows)
    # Equal chunks: a divisor of n if one is near, else pad the last chunk.
    num_chunks = next((c for c in range(num_chunks, 2 * num_chunks + 1)
                       if n % c == 0), num_chunks)
    rows = -(-n // num_chunks)
    pad = num_chunks * rows - n
    if pad:
      x = jnp.pad(x, ((0, pad), (0, 0)))
    y = lax.map(mlp, x.reshape(num_chunks, rows, width)).reshape(-1, width)
    return y[:n].reshape(h.shape[:-1] + (width,))


class TransformerBlock(nn.Module):
  """Pre-norm encoder block with FiLM on each sublayer's input or output.

  film_placement='input':  h = h + Drop(MHA(FiLM(LN(h), c)));
                           h = h + Drop(MLP(FiLM(LN(h), c))).
  film_placement='output': h = h + Drop(FiLM(MHA(LN(h)), c));
                           h = h + Drop(FiLM(MLP(LN(h)), c)).
  With use_film=False the FiLM calls (and their parameters) are absent; the
  other parameter names are the same in every variant. rotary=True rotates
  queries and keys by position (attention.apply_rotary).

  Args (call):
    h: [B, L, D] tokens. c: [B, C] conditioning (after silu). train: dropout.
  """
  num_heads: int
  mlp_dim: int
  dropout: float = 0.0
  use_film: bool = True
  film_placement: str = "input"
  rotary: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h: Array, c: Optional[Array], *, train: bool) -> Array:
    chex.assert_rank(h, 3)
    if self.film_placement not in FILM_PLACEMENTS:
      raise ConfigError(f"config.model.film_placement must be one of "
                        f"{FILM_PLACEMENTS}, got {self.film_placement!r}")
    film_in = self.use_film and self.film_placement == "input"
    film_out = self.use_film and self.film_placement == "output"
    y = nn.LayerNorm(dtype=self.dtype, name="ln_attn")(h)
    if film_in:
      y = FiLM(dtype=self.dtype, name="film_attn")(y, c)
    y = nn.MultiHeadDotProductAttention(
        num_heads=self.num_heads, dtype=self.dtype, deterministic=True,
        force_fp32_for_softmax=self.dtype != jnp.float32,
        attention_fn=rotary_attention if self.rotary else chunked_attention,
        name="attn")(y, y)
    if film_out:
      y = FiLM(dtype=self.dtype, name="film_attn")(y, c)
    h = h + nn.Dropout(self.dropout, deterministic=not train)(y)
    y = nn.LayerNorm(dtype=self.dtype, name="ln_mlp")(h)
    if film_in:
      y = FiLM(dtype=self.dtype, name="film_mlp")(y, c)
    y = MLPBlock(self.mlp_dim, dtype=self.dtype, name="mlp")(y, train=train)
    if film_out:
      y = FiLM(dtype=self.dtype, name="film_mlp")(y, c)
    return h + nn.Dropout(self.dropout, deterministic=not train)(y)


class Denoiser(nn.Module):
  """(r_t, x_cond [B,T,F], cond [B,C]) -> prediction [B,T,F] float32.

  cond already contains the timestep embedding. use_film=False is the
  ablation that adds Dense(cond) to every input token instead of FiLM.
  The blocks compute in ``dtype``; the final LayerNorm and the head always
  in float32 (see the module docstring).
  """
  width: int = 256
  num_layers: int = 4
  num_heads: int = 4
  mlp_dim: int = 1024
  dropout: float = 0.1
  patch_size: int = 1
  use_film: bool = True
  film_placement: str = "input"
  pos_embedding: str = "learned"
  final_norm: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, r_t: Array, x_cond: Array, cond: Array, *,
               train: bool) -> Array:
    chex.assert_rank([r_t, x_cond, cond], [3, 3, 2])
    chex.assert_equal_shape([r_t, x_cond])
    b, t, f = r_t.shape
    chex.assert_equal(cond.shape[0], b)
    tokens = patchify(jnp.concatenate([r_t, x_cond], axis=-1).astype(
        self.dtype), self.patch_size)                       # [B, L, 2pF]
    num_tokens = tokens.shape[1]
    h = nn.Dense(self.width, dtype=self.dtype, name="embed")(tokens)
    if self.pos_embedding == "learned":
      pos = self.param("pos_embedding", nn.initializers.normal(0.02),
                       (num_tokens, self.width))
    elif self.pos_embedding == "sinusoidal":
      pos = sinusoidal_embedding(jnp.arange(num_tokens), self.width)
    elif self.pos_embedding == "rotary":
      pos = None                            # positions enter in attention
    else:
      raise ConfigError(f"config.model.pos_embedding must be one of "
                        f"{POS_EMBEDDINGS}, got {self.pos_embedding!r}")
    if pos is not None:
      h = h + pos[None].astype(self.dtype)
    c = nn.silu(cond.astype(jnp.float32))
    if not self.use_film:
      h = h + nn.Dense(self.width, dtype=self.dtype,
                       name="cond_to_tokens")(c)[:, None, :]
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    for i in range(self.num_layers):
      h = TransformerBlock(self.num_heads, self.mlp_dim, self.dropout,
                           use_film=self.use_film,
                           film_placement=self.film_placement,
                           rotary=self.pos_embedding == "rotary",
                           dtype=self.dtype,
                           name=f"block_{i}")(h, c, train=train)
    # float32 from here on: eps-prediction divides the output by alpha.
    h = h.astype(jnp.float32)
    if self.final_norm:
      h = nn.LayerNorm(dtype=jnp.float32, name="ln_out")(h)
    out = nn.Dense(self.patch_size * f, dtype=jnp.float32, name="head")(h)
    out = unpatchify(out, self.patch_size, f)
    chex.assert_shape(out, (b, t, f))
    return out


def center_over_time(x: Array) -> Array:
  """x [B, T, F] minus its own per-channel mean over T (offset-free)."""
  chex.assert_rank(x, 3)
  return x - jnp.mean(x, axis=1, keepdims=True)


class GaitDiffusionModel(nn.Module):
  """Subject-conditioned residual denoiser (paper Fig. 1).

  One ``init`` through ``__call__`` creates every parameter; the parts are
  called with ``model.apply({'params': p}, ..., method=model.encode)`` etc.
  Dropout uses the rng stream 'dropout' (only with train=True).
  Build from a config with ``GaitDiffusionModel.from_config(config.model)``.
  """
  width: int = 256
  num_layers: int = 4
  num_heads: int = 4
  mlp_dim: int = 1024
  dropout: float = 0.1
  patch_size: int = 1
  cond_dim: int = 64
  time_embed_dim: int = 128
  subject_embed_dim: int = 64
  lstm_hidden: int = 64
  lstm_patch_size: int = 1
  speed_hidden: int = 64
  use_subject_encoder: bool = True
  use_film: bool = True
  film_placement: str = "input"
  pos_embedding: str = "learned"
  final_norm: bool = True
  # [ours] subtract each input sequence's own per-channel time mean before the
  # network sees it: a constant per-channel offset (static zeroing, marker
  # placement, 2D vs IK conventions) then cannot change the generated
  # residual, so the output moves by exactly that offset.
  center_inputs: bool = False
  dtype: str = "float32"

  @classmethod
  def from_config(cls, model_cfg) -> "GaitDiffusionModel":
    """Typed model from config.model (a ConfigDict or a mapping)."""
    get = model_cfg.get
    kwargs = {}
    for field in dataclasses.fields(cls):
      if field.name in ("parent", "name") or get(field.name) is None:
        continue
      kwargs[field.name] = get(field.name)
    model = cls(**kwargs)
    model.validate()
    return model

  def validate(self) -> None:
    """ConfigError for field values that cannot build a model."""
    compute_dtype(self.dtype)
    for name in ("width", "num_layers", "num_heads", "mlp_dim", "patch_size",
                 "cond_dim", "time_embed_dim", "subject_embed_dim",
                 "lstm_hidden", "lstm_patch_size", "speed_hidden"):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ConfigError(f"config.model.{name} must be a positive integer, "
                          f"got {value!r}")
    if self.width % self.num_heads:
      raise ConfigError(f"config.model.width={self.width} must be divisible "
                        f"by config.model.num_heads={self.num_heads}")
    if not 0.0 <= self.dropout < 1.0:
      raise ConfigError(f"config.model.dropout must be in [0, 1), got "
                        f"{self.dropout!r}")
    if self.pos_embedding not in POS_EMBEDDINGS:
      raise ConfigError(f"config.model.pos_embedding must be one of "
                        f"{POS_EMBEDDINGS}, got {self.pos_embedding!r}")
    if self.pos_embedding == "rotary" and (self.width // self.num_heads) % 2:
      raise ConfigError(f"config.model.pos_embedding='rotary' needs an even "
                        f"head dimension; width {self.width} / num_heads "
                        f"{self.num_heads} is odd")
    if self.film_placement not in FILM_PLACEMENTS:
      raise ConfigError(f"config.model.film_placement must be one of "
                        f"{FILM_PLACEMENTS}, got {self.film_placement!r}")

  def setup(self):
    if self.use_subject_encoder:
      self.subject_encoder = SubjectEncoder(
          hidden=self.lstm_hidden, embed_dim=self.subject_embed_dim,
          patch_size=self.lstm_patch_size)
    self.conditioner = SpeedSubjectConditioner(self.cond_dim,
                                               self.speed_hidden)
    self.time_embedding = TimestepEmbedding(self.time_embed_dim,
                                            self.cond_dim)
    self.denoiser = Denoiser(
        width=self.width, num_layers=self.num_layers,
        num_heads=self.num_heads, mlp_dim=self.mlp_dim,
        dropout=self.dropout, patch_size=self.patch_size,
        use_film=self.use_film, film_placement=self.film_placement,
        pos_embedding=self.pos_embedding, final_norm=self.final_norm,
        dtype=compute_dtype(self.dtype))

  def __call__(self, r_t: Array, x_cond: Array, x_src: Array, v_src: Array,
               v_tgt: Array, t: Array, *, train: bool) -> Array:
    """Network output [B,T,F] (eps, v or x0 of r_t) for noisy r_t at step t.

    Args:
      r_t: [B, T, F] noisy residual. x_cond: [B, T, F] conditioning sequence
      (x_ref; x_src for the paper). x_src: [B, T, F] source for the subject
      encoder. v_src, v_tgt: [B] m/s. t: [B] int steps in [0, N).
    """
    cond = self.encode(x_src, v_src, v_tgt)
    return self.denoise(r_t, x_cond, cond, t, train=train)

  def subject_embedding(self, x: Array) -> Array:
    """x [B,T,F] -> unit-norm subject embedding [B, subject_embed_dim]."""
    if not self.use_subject_encoder:
      raise ConfigError("subject_embedding needs "
                        "config.model.use_subject_encoder=True")
    if self.center_inputs:
      x = center_over_time(x)
    return self.subject_encoder(x)

  def encode(self, x_src: Array, v_src: Array, v_tgt: Array) -> Array:
    """Subject + speed conditioning c [B, cond_dim] (no timestep).

    Constant over the diffusion steps, so the sampler computes it once.
    """
    return self.encode_with_embedding(x_src, v_src, v_tgt)[0]

  def encode_with_embedding(self, x_src: Array, v_src: Array, v_tgt: Array
                            ) -> Tuple[Array, Optional[Array]]:
    """(c [B, cond_dim], z_s [B, subject_embed_dim] or None): encode's
    conditioning and the subject embedding it was built from (None without
    a subject encoder); z_s equals subject_embedding(x_src)."""
    chex.assert_rank([x_src, v_src, v_tgt], [3, 1, 1])
    chex.assert_equal(x_src.shape[0], v_src.shape[0])
    z_s = self.subject_embedding(x_src) if self.use_subject_encoder else None
    return self.condition(z_s, v_src, v_tgt), z_s

  def condition(self, z_s: Optional[Array], v_src: Array, v_tgt: Array
                ) -> Array:
    """c [B, cond_dim] from a subject embedding z_s [B, E] (None without a
    subject encoder) and speeds v_src, v_tgt [B]: encode after the encoder.

    Lets a caller embed each distinct source once and reuse it (the
    contrastive loss term, K samples x several speeds of one request).
    """
    if (z_s is None) == self.use_subject_encoder:
      raise ConfigError("condition: z_s must be given exactly when "
                        "config.model.use_subject_encoder=True")
    return self.conditioner(z_s, v_src, v_tgt)

  def forward_with_embedding(self, r_t: Array, x_cond: Array, x_src: Array,
                             v_src: Array, v_tgt: Array, t: Array, *,
                             train: bool) -> Tuple[Array, Optional[Array]]:
    """(__call__'s output [B,T,F], z_s = subject_embedding(x_src) [B, E] or
    None): the training loss reuses z_s in its contrastive term instead of
    running the BiLSTM over x_src a second time (same function, one encoder
    pass less per step)."""
    cond, z_s = self.encode_with_embedding(x_src, v_src, v_tgt)
    return self.denoise(r_t, x_cond, cond, t, train=train), z_s

  def denoise(self, r_t: Array, x_cond: Array, cond: Array, t: Array, *,
              train: bool) -> Array:
    """Prediction [B,T,F] float32 from r_t, x_cond and c = encode(...)."""
    chex.assert_rank([r_t, cond, t], [3, 2, 1])
    chex.assert_equal(r_t.shape[0], t.shape[0])
    cond = cond + self.time_embedding(t)
    if self.center_inputs:
      x_cond = center_over_time(x_cond)
    return self.denoiser(r_t, x_cond, cond, train=train)


def make_model(config) -> GaitDiffusionModel:
  """The diffusion model of a full config (config.model.name == 'diffusion')."""
  name = config.model.get("name", "diffusion")
  if name != "diffusion":
    raise ConfigError(f"make_model builds config.model.name='diffusion', got "
                      f"{name!r} (the mlp/tcn baselines live in "
                      f"gaitjax.models.baselines)")
  return GaitDiffusionModel.from_config(config.model)
