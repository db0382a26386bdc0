"""The paper's deterministic baselines: an MLP bank and a TCN bank [P II.G].

"The MLP baseline learned separate one-to-one mappings for each source-target
speed pair, while the TCN baseline learned one-to-many mappings from a fixed
source speed conditioned on a target speed. Both baselines used source speeds
of 0.55, 0.80, 1.05, 1.30, 1.55, 1.80 m/s and were trained with AdamW and mean
squared error loss on the kinematic sequences."

Both predict the normalised target sequence x_tgt directly (no residual, no
diffusion) and are trained with plain MSE.

Banks are stacked parameters with a leading bank axis, and every example
gathers its own slice (a batched matmul over the batch, i.e. a vmap of one
network per example), not a dict of modules: one compiled graph, and the
gradient of a gather is a scatter-add, so a pair absent from a batch gets an
exactly zero gradient (tests/test_baselines.py checks it).

Speeds off a grid use the nearest grid speed, ties to the lower speed, which
is the paper's rule for assigning a target to a source speed [P III.C]: at
evaluation the source speed is whichever fixed source speed is nearest, and an
MLP target speed is the nearest target-grid speed.

MLPBaseline size [ours; the paper gives none]: 6 sources x 28 targets = 168
independent networks, each input [T/s * 6] -> GELU hidden H -> [T/s * 6] on
the sequence average-pooled by s frames, linearly upsampled back to T. With
T=600, s=2 (10 Hz, 10-13 samples per gait cycle) and H=64 that is 232,264
parameters a pair, 39.0M in all; without pooling H=64 would be 78M.

TCNBaseline size [ours]: 6 networks, each a 1x1 input projection to C
channels, then residual blocks (non-causal dilated conv, kernel K -> FiLM
from the target speed -> GELU -> 1x1 conv) and a 1x1 output projection. With
C=64, K=5, dilations 1..32 the receptive field is 253 frames (12.6 s) and the
bank has 1,195,044 parameters. Non-causal because the whole source sequence
is given.
"""
from typing import Any, Callable, Dict, Sequence, Tuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gaitjax import constants
from gaitjax.errors import ConfigError

Array = jnp.ndarray
Batch = Dict[str, Array]
Params = Any

# Source speeds of both baselines (m/s) [P II.G].
FIXED_SOURCE_SPEEDS: Tuple[float, ...] = (0.55, 0.80, 1.05, 1.30, 1.55, 1.80)
# The able-bodied speed grid, 0.50..1.85 step 0.05 m/s [P II.B]: the MLP's
# default target speeds.
TARGET_SPEED_GRID: Tuple[float, ...] = tuple(
    round(0.50 + 0.05 * i, 2) for i in range(28))


def nearest_index(speeds: Array, grid: Sequence[float]) -> Array:
  """Index of the nearest grid speed, ties to the lower index.

  Args:
    speeds: [B] m/s.
    grid: [G] m/s, strictly increasing (so a tie goes to the lower speed,
      as argmin returns the first minimum).

  Returns:
    [B] int32 in [0, G).
  """
  grid = jnp.asarray(grid, jnp.float32)
  dist = jnp.abs(jnp.asarray(speeds, jnp.float32)[..., None] - grid)
  # Rounded to 0.1 mm/s so that float error cannot break a tie such as
  # 0.675 between 0.55 and 0.80.
  dist = jnp.round(dist * 1e4)
  return jnp.argmin(dist, axis=-1).astype(jnp.int32)


def _dtype(name: Any) -> Any:
  return jnp.dtype(name) if isinstance(name, str) else name


def _stacked_init(num_bank_axes: int) -> Callable[..., Array]:
  """LeCun-normal init of [bank..., in, out] with the bank axes as batch."""
  return nn.initializers.lecun_normal(
      in_axis=-2, out_axis=-1, batch_axis=tuple(range(num_bank_axes)))


def _check_input(x_src: Array, v_src: Array, v_tgt: Array,
                 num_features: int) -> None:
  chex.assert_rank(x_src, 3)
  chex.assert_axis_dimension(x_src, 2, num_features)
  chex.assert_shape([v_src, v_tgt], (x_src.shape[0],))


class MLPBaseline(nn.Module):
  """One independent MLP per (source speed, target speed) pair.

  Attributes:
    source_speeds: [S] m/s, increasing.
    target_speeds: [G] m/s, increasing.
    seq_len: T, fixed because the MLP sees the flattened sequence.
    hidden: H, width of the single hidden layer.
    time_stride: s, frames average-pooled into one input step (T % s == 0).
    num_features: F.
    dtype: compute dtype (params stay float32; output is float32).
  """
  source_speeds: Tuple[float, ...] = FIXED_SOURCE_SPEEDS
  target_speeds: Tuple[float, ...] = TARGET_SPEED_GRID
  seq_len: int = constants.SEQ_LEN
  hidden: int = 64
  time_stride: int = 2
  num_features: int = constants.NUM_CHANNELS
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_src: Array, v_src: Array, v_tgt: Array) -> Array:
    """x_src: [B, T, F] normalised, v_src, v_tgt: [B] m/s -> x_tgt [B, T, F]."""
    _check_input(x_src, v_src, v_tgt, self.num_features)
    chex.assert_axis_dimension(x_src, 1, self.seq_len)
    b, t, f = x_src.shape
    s = self.time_stride
    if t % s:
      raise ConfigError(f"model.mlp_time_stride={s} must divide the sequence "
                        f"length {t}")
    steps = t // s
    d = steps * f
    num_src, num_tgt = len(self.source_speeds), len(self.target_speeds)
    init = _stacked_init(2)
    w1 = self.param("w1", init, (num_src, num_tgt, d, self.hidden))
    b1 = self.param("b1", nn.initializers.zeros,
                    (num_src, num_tgt, self.hidden))
    w2 = self.param("w2", init, (num_src, num_tgt, self.hidden, d))
    b2 = self.param("b2", nn.initializers.zeros, (num_src, num_tgt, d))

    i = nearest_index(v_src, self.source_speeds)
    j = nearest_index(v_tgt, self.target_speeds)
    dt = _dtype(self.dtype)
    x = x_src.reshape(b, steps, s, f).mean(axis=2).reshape(b, d).astype(dt)
    # Each example multiplies by its own pair's weights: [B, d, H].
    h = jnp.einsum("bd,bdh->bh", x, w1[i, j].astype(dt)) + b1[i, j].astype(dt)
    h = nn.gelu(h)
    y = jnp.einsum("bh,bhd->bd", h, w2[i, j].astype(dt)) + b2[i, j].astype(dt)
    y = y.astype(jnp.float32).reshape(b, steps, f)
    if s > 1:
      # Half-pixel-centred linear resize matches the pooling's centres.
      y = jax.image.resize(y, (b, t, f), method="linear")
    return y


def _dilated_conv(x: Array, w: Array, bias: Array, dilation: int) -> Array:
  """Non-causal 'same' dilated conv with per-example kernels.

  Args:
    x: [B, T, C].
    w: [B, K, C, D] (K odd).
    bias: [B, D].
    dilation: gap between taps in frames.

  Returns:
    [B, T, D].
  """
  k = w.shape[1]
  t = x.shape[1]
  pad = dilation * (k // 2)
  xp = jnp.pad(x, ((0, 0), (pad, pad), (0, 0)))
  taps = jnp.stack([xp[:, j * dilation:j * dilation + t] for j in range(k)],
                   axis=2)                                     # [B, T, K, C]
  return jnp.einsum("btkc,bkcd->btd", taps, w) + bias[:, None, :]


class TCNBaseline(nn.Module):
  """One TCN per fixed source speed, FiLM-conditioned on the target speed.

  Attributes:
    source_speeds: [S] m/s, increasing.
    channels: C.
    kernel_size: K, odd.
    dilations: one residual block per entry.
    speed_hidden: E, width of the target-speed embedding.
    num_features: F.
    dtype: compute dtype (params stay float32; output is float32).
  """
  source_speeds: Tuple[float, ...] = FIXED_SOURCE_SPEEDS
  channels: int = 64
  kernel_size: int = 5
  dilations: Tuple[int, ...] = (1, 2, 4, 8, 16, 32)
  speed_hidden: int = 64
  num_features: int = constants.NUM_CHANNELS
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_src: Array, v_src: Array, v_tgt: Array) -> Array:
    """x_src: [B, T, F] normalised, v_src, v_tgt: [B] m/s -> x_tgt [B, T, F]."""
    _check_input(x_src, v_src, v_tgt, self.num_features)
    if self.kernel_size % 2 != 1:
      raise ConfigError(f"model.tcn_kernel_size={self.kernel_size} must be odd")
    f, c, e, k = (self.num_features, self.channels, self.speed_hidden,
                  self.kernel_size)
    num_src, num_layers = len(self.source_speeds), len(self.dilations)
    init1, init2 = _stacked_init(1), _stacked_init(2)
    zeros = nn.initializers.zeros
    in_w = self.param("in_w", init1, (num_src, f, c))
    in_b = self.param("in_b", zeros, (num_src, c))
    emb_w = self.param("emb_w", init1, (num_src, 2, e))
    emb_b = self.param("emb_b", zeros, (num_src, e))
    # Conv kernels [S, L, K, C, C]: fan-in is K*C, so init as [.., K*C, C].
    conv_w = self.param(
        "conv_w", lambda key, shape: init2(key, shape[:2] + (k * c, c)).reshape(
            shape), (num_src, num_layers, k, c, c))
    conv_b = self.param("conv_b", zeros, (num_src, num_layers, c))
    film_w = self.param("film_w", init2, (num_src, num_layers, e, 2 * c))
    film_b = self.param("film_b", zeros, (num_src, num_layers, 2 * c))
    mix_w = self.param("mix_w", init2, (num_src, num_layers, c, c))
    mix_b = self.param("mix_b", zeros, (num_src, num_layers, c))
    out_w = self.param("out_w", init1, (num_src, c, f))
    out_b = self.param("out_b", zeros, (num_src, f))

    dt = _dtype(self.dtype)
    i = nearest_index(v_src, self.source_speeds)
    g = lambda p: p[i].astype(dt)  # noqa: E731  this example's network
    v_fixed = jnp.asarray(self.source_speeds, jnp.float32)[i]
    # Target speed and its change from this network's fixed source (m/s).
    speed = jnp.stack([v_tgt, v_tgt - v_fixed], axis=-1).astype(dt)  # [B, 2]
    emb = nn.gelu(jnp.einsum("bi,bie->be", speed, g(emb_w)) + g(emb_b))

    h = jnp.einsum("btf,bfc->btc", x_src.astype(dt), g(in_w))
    h = h + g(in_b)[:, None, :]
    cw, cb, fw, fb, mw, mb = map(g, (conv_w, conv_b, film_w, film_b, mix_w,
                                     mix_b))
    for layer, dilation in enumerate(self.dilations):
      u = _dilated_conv(h, cw[:, layer], cb[:, layer], dilation)
      film = jnp.einsum("be,bec->bc", emb, fw[:, layer]) + fb[:, layer]
      gamma, beta = jnp.split(film[:, None, :], 2, axis=-1)
      u = nn.gelu((1.0 + gamma) * u + beta)  # FiLM [P eq. 5]
      h = h + jnp.einsum("btc,bcd->btd", u, mw[:, layer]) + mb[:, layer,
                                                                None, :]
    y = jnp.einsum("btc,bcf->btf", h, g(out_w)) + g(out_b)[:, None, :]
    return y.astype(jnp.float32)


# ------------------------------------------------------------- from config


def _speeds(value: Any, field: str) -> Tuple[float, ...]:
  speeds = tuple(float(v) for v in value)
  if not speeds or any(b <= a for a, b in zip(speeds, speeds[1:])):
    raise ConfigError(f"{field}={value!r}: expected a non-empty, strictly "
                      f"increasing tuple of speeds in m/s")
  return speeds


def _check_training_sources(config: ml_collections.ConfigDict,
                            grid: Tuple[float, ...]) -> None:
  """Refuses data.source_speeds the bank has no network for."""
  data_sources = tuple(config.data.get("source_speeds", ()) or ())
  off = [v for v in data_sources if min(abs(v - g) for g in grid) > 1e-3]
  if off:
    raise ConfigError(
        f"data.source_speeds has {off} not in eval.baseline_source_speeds="
        f"{grid}: the baseline has a network only per listed source speed")


def build_model(config: ml_collections.ConfigDict) -> nn.Module:
  """MLPBaseline or TCNBaseline from config.model.name ('mlp' | 'tcn')."""
  m = config.model
  sources = _speeds(config.eval.baseline_source_speeds,
                    "eval.baseline_source_speeds")
  _check_training_sources(config, sources)
  dtype = _dtype(m.get("dtype", "float32"))
  if m.name == "mlp":
    return MLPBaseline(
        source_speeds=sources,
        target_speeds=_speeds(m.get("target_speeds", TARGET_SPEED_GRID),
                              "model.target_speeds"),
        seq_len=int(config.data.seq_len),
        hidden=int(m.get("mlp_hidden", 64)),
        time_stride=int(m.get("mlp_time_stride", 2)),
        dtype=dtype)
  if m.name == "tcn":
    return TCNBaseline(
        source_speeds=sources,
        channels=int(m.get("tcn_channels", 64)),
        kernel_size=int(m.get("tcn_kernel_size", 5)),
        dilations=tuple(int(d) for d in m.get("tcn_dilations",
                                              (1, 2, 4, 8, 16, 32))),
        speed_hidden=int(m.get("speed_hidden", 64)),
        dtype=dtype)
  raise ConfigError(f"model.name={m.name!r}: baselines are 'mlp' or 'tcn'")


def count_params(params: Params) -> int:
  """Number of scalars in a params tree (arrays or ShapeDtypeStructs)."""
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(params)))


def param_count(config: ml_collections.ConfigDict) -> int:
  """Parameters of the configured baseline, without allocating them."""
  model = build_model(config)
  t = int(config.data.seq_len)
  x = jax.ShapeDtypeStruct((1, t, constants.NUM_CHANNELS), jnp.float32)
  v = jax.ShapeDtypeStruct((1,), jnp.float32)
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), x, v, v)
  return count_params(shapes["params"])
