"""Gait-cycle primitives: detection, normalisation, matching, cycle MAE.

Paper II.F.1: cycles are found per side from the hip. Hip-extension peaks
(minima of ``hip_flexion``) are robust to noise and to stroke gait; each peak
is shifted by 50 % of the local cycle length to approximate heel strike (the
hip-flexion peak region). The hip's cycles are reused for the knee and ankle
of the same side. Each real cycle is matched greedily to an unused generated
cycle (closest centre, most similar length), every cycle is normalised to 101
points, and the MAE is taken between the mean real and mean generated cycle
of each channel; the overall value is the mean over the 6 channels.

Boundaries are located to a fraction of a sample (parabolic refinement of
the peaks): at 20 Hz a cycle is ~20 samples, and rounding each boundary to a
sample would jitter cycles by up to 2.5 % of their length and blur the mean
curves. ``detect_cycles`` / ``cycle_bounds`` return sample indices as the
API promises; everything that averages cycles uses the exact boundaries.

Nothing here raises on a finite signal with too few cycles: the results
carry NaN plus a ``reason`` instead, because evaluation runs over thousands
of generated sequences, some of which may not look like walking at all.
"""
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import signal as sp_signal

from gaitjax import constants

# Stride (full gait cycle) periods searched for, in seconds: cadence 48-200
# steps/min, covering slow stroke gait to fast walking.
MIN_PERIOD_S: float = 0.6
MAX_PERIOD_S: float = 2.5
NUM_POINTS: int = 101
# Peaks closer than this fraction of the dominant period are one peak; stroke
# hips can show a second, shallower dip within a cycle.
_DISTANCE_FRACTION = 0.65
# Minimum peak prominence, as a fraction of the signal's 5-95 % range.
_PROMINENCE_FRACTION = 0.25
# Normalised (unbiased) autocorrelation needed at the dominant period for the
# signal to count as periodic; white noise sits near 0, gait near 0.6-1.
_MIN_PERIODICITY = 0.2
# Default for match_cycles: a real cycle whose best score is not below this is
# left unmatched (score 1 = centres one cycle length apart).
# The paper's rule matches every real cycle while generated cycles are left.
# A finite guard would drop the cycles of a generated gait whose cadence is
# far off, turning a large error into NaN that averages then ignore.
DEFAULT_MAX_MATCH_SCORE: float = float("inf")


# ----------------------------------------------------------------- detection


def dominant_period(signal: np.ndarray, rate_hz: float) -> float:
  """Dominant stride period in seconds, NaN when the signal is not periodic.

  The highest local maximum of the autocorrelation between 0.6 s and 2.5 s
  (and at most 3/4 of the signal length) is taken. The biased estimator is
  used to rank lags, so that the fundamental wins over its multiples; the
  peak is refined by a parabola.

  Args:
    signal: [T] one channel (e.g. a hip angle).
    rate_hz: sampling rate.

  Returns:
    Period in seconds, or NaN (flat, non-finite, too short or aperiodic).
  """
  y = np.asarray(signal, dtype=np.float64)
  if y.ndim != 1:
    raise ValueError(f"dominant_period: signal must be [T], got {y.shape}")
  n = y.shape[0]
  if n < 4 or not np.all(np.isfinite(y)):
    return float("nan")
  y = y - y.mean()
  energy = float(np.dot(y, y))
  if energy <= 1e-12 * n:
    return float("nan")
  lo = max(2, int(np.ceil(MIN_PERIOD_S * rate_hz)))
  hi = min(int(np.floor(MAX_PERIOD_S * rate_hz)), int(0.75 * n))
  if hi <= lo:
    return float("nan")
  nfft = 1 << int(np.ceil(np.log2(2 * n)))
  spec = np.fft.rfft(y, nfft)
  acf = np.fft.irfft(spec.real**2 + spec.imag**2, nfft)[:hi + 2]
  seg = acf[lo - 1:hi + 2]
  mid = seg[1:-1]
  is_max = (mid > seg[:-2]) & (mid >= seg[2:])
  if not np.any(is_max):
    return float("nan")
  cand = np.nonzero(is_max)[0]
  k = int(cand[np.argmax(mid[cand])]) + lo
  periodicity = (acf[k] / (n - k)) / (acf[0] / n)
  if periodicity < _MIN_PERIODICITY:
    return float("nan")
  a, b, c = acf[k - 1], acf[k], acf[k + 1]
  denom = a - 2.0 * b + c
  delta = 0.5 * (a - c) / denom if denom < 0 else 0.0
  return float((k + np.clip(delta, -0.5, 0.5)) / rate_hz)


def _smooth(y: np.ndarray, width: int) -> np.ndarray:
  """Centred moving average (odd width, edge-padded): keeps peak positions."""
  if width <= 1:
    return y
  half = width // 2
  padded = np.pad(y, half, mode="edge")
  csum = np.cumsum(np.concatenate([[0.0], padded]))
  return (csum[width:] - csum[:-width]) / width


def extension_peaks(hip: np.ndarray, rate_hz: float) -> np.ndarray:
  """Hip-extension peaks (minima of hip flexion) at sub-sample precision.

  Args:
    hip: [T] hip flexion angle.
    rate_hz: sampling rate.

  Returns:
    [K] float sample positions, increasing; empty when undetectable.
  """
  y = np.asarray(hip, dtype=np.float64)
  period = dominant_period(y, rate_hz)
  if not np.isfinite(period):
    return np.zeros((0,), np.float64)
  period_samples = period * rate_hz
  width = int(round(0.1 * period_samples)) | 1     # odd
  ys = _smooth(y, width)
  n = ys.shape[0]
  k_lo, k_hi = int(0.05 * (n - 1)), int(np.ceil(0.95 * (n - 1)))
  part = np.partition(ys, (k_lo, k_hi))   # cheaper than np.percentile
  lo, hi = part[k_lo], part[k_hi]
  prominence = max(_PROMINENCE_FRACTION * (hi - lo), 1e-9)
  distance = max(1, int(_DISTANCE_FRACTION * period_samples))
  idx, _ = sp_signal.find_peaks(-ys, distance=distance, prominence=prominence)
  if idx.size == 0:
    return np.zeros((0,), np.float64)
  a, b, c = ys[idx - 1], ys[idx], ys[idx + 1]
  denom = a - 2.0 * b + c
  safe = np.where(denom > 0, denom, 1.0)
  delta = np.where(denom > 0, 0.5 * (a - c) / safe, 0.0)
  return idx + np.clip(delta, -0.5, 0.5)


def boundaries_from_peaks(peaks: np.ndarray, num_samples: int) -> np.ndarray:
  """Cycle boundaries from extension peaks: each peak + 50 % of its cycle.

  The local cycle length of peak i is p[i+1] - p[i] (the last peak uses the
  previous interval). One more boundary, p[0] - (p[1] - p[0]) / 2, stands for
  the (undetected) peak before the first one shifted by half a cycle; it is
  kept when it lies inside the signal, like every other boundary.

  Args:
    peaks: [K] increasing float sample positions.
    num_samples: T, the signal length.

  Returns:
    [N+1] float boundaries within [0, T-1]; fewer than 2 when no complete
    cycle exists.
  """
  p = np.asarray(peaks, dtype=np.float64)
  if p.size < 2:
    return np.zeros((0,), np.float64)
  lengths = np.diff(p)
  local = np.concatenate([lengths, lengths[-1:]])
  b = np.concatenate([[p[0] - 0.5 * lengths[0]], p + 0.5 * local])
  return b[(b >= 0.0) & (b <= num_samples - 1)]


def exact_boundaries(hip: np.ndarray, rate_hz: float) -> np.ndarray:
  """[N+1] float cycle boundaries of one hip (see ``detect_cycles``)."""
  hip = np.asarray(hip)
  return boundaries_from_peaks(extension_peaks(hip, rate_hz), hip.shape[0])


def detect_cycles(hip: np.ndarray, rate_hz: float) -> np.ndarray:
  """Cycle boundaries (approximate heel strikes) of one hip.

  Hip-extension peaks (``find_peaks`` on -hip, minimum distance 0.65 x the
  dominant period, prominence 25 % of the 5-95 % range of the lightly
  smoothed signal) shifted by +50 % of the local cycle length.

  Args:
    hip: [T] hip flexion angle (degrees).
    rate_hz: sampling rate.

  Returns:
    [N+1] int sample indices, increasing, of the boundaries of N complete
    cycles; fewer than 2 when no complete cycle exists.
  """
  b = np.round(exact_boundaries(hip, rate_hz)).astype(np.int64)
  if b.size:
    b = np.unique(b)
  return b


def _check_x(x: np.ndarray, where: str) -> np.ndarray:
  x = np.asarray(x)
  if x.ndim != 2 or x.shape[1] != constants.NUM_CHANNELS:
    raise ValueError(f"{where}: expected [T, {constants.NUM_CHANNELS}], got"
                     f" {x.shape}")
  return x


def _pairs(b: np.ndarray) -> np.ndarray:
  """[N+1] boundaries -> [N, 2] (start, end)."""
  if b.size < 2:
    return np.zeros((0, 2), b.dtype)
  return np.stack([b[:-1], b[1:]], axis=1)


def cycle_bounds(x: np.ndarray, rate_hz: float, *,
                 exact: bool = False) -> Dict[str, np.ndarray]:
  """Cycles of each side, detected on that side's hip.

  Args:
    x: [T, 6] joint angles.
    rate_hz: sampling rate.
    exact: return float (sub-sample) boundaries instead of sample indices.

  Returns:
    {'right': [N_r, 2], 'left': [N_l, 2]} (start, end); consecutive cycles
    share a boundary.
  """
  x = _check_x(x, "cycle_bounds")
  out = {}
  for side in constants.SIDES:
    hip = x[:, constants.SIDE_CHANNELS[side][0]]
    b = exact_boundaries(hip, rate_hz)
    if not exact:
      b = np.unique(np.round(b).astype(np.int64)) if b.size else b.astype(
          np.int64)
    out[side] = _pairs(b)
  return out


# ------------------------------------------------------------- normalisation


def _resample_cycles(x: np.ndarray, bounds: np.ndarray,
                     num_points: int) -> np.ndarray:
  """x: [T, C], bounds: [N, 2] (start, end incl.) -> [N, num_points, C]."""
  bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
  t = x.shape[0]
  frac = np.linspace(0.0, 1.0, num_points)
  pos = bounds[:, :1] + (bounds[:, 1:] - bounds[:, :1]) * frac   # [N, P]
  pos = np.clip(pos, 0.0, t - 1)
  i0 = np.minimum(np.floor(pos).astype(np.int64), max(t - 2, 0))
  w = (pos - i0)[..., None]
  i1 = np.minimum(i0 + 1, t - 1)
  return x[i0] * (1.0 - w) + x[i1] * w


def normalize_cycle(segment: np.ndarray,
                    num_points: int = NUM_POINTS) -> np.ndarray:
  """Time-normalises one cycle to ``num_points`` samples (0..100 %).

  Args:
    segment: [L, C] the cycle including its end sample (``x[start:end+1]``),
      so that consecutive cycles share their boundary sample.
    num_points: output length (101 = 0, 1, ..., 100 %).

  Returns:
    [num_points, C] linear interpolation; row 0 is segment[0], the last row
    segment[-1].
  """
  seg = np.asarray(segment, dtype=np.float64)
  squeeze = seg.ndim == 1
  if squeeze:
    seg = seg[:, None]
  if seg.ndim != 2 or seg.shape[0] < 2:
    raise ValueError(f"normalize_cycle: segment must be [L >= 2, C], got"
                     f" {np.shape(segment)}")
  out = _resample_cycles(seg, np.array([[0.0, seg.shape[0] - 1.0]]),
                         num_points)[0]
  return out[:, 0] if squeeze else out


def side_cycles(x: np.ndarray, bounds_side: np.ndarray, side: str,
                num_points: int = NUM_POINTS) -> np.ndarray:
  """The normalised cycles of one side's three channels.

  Args:
    x: [T, 6] joint angles.
    bounds_side: [N, 2] (start, end) sample positions (int or float); the end
      sample is included.
    side: 'right' | 'left'.
    num_points: points per cycle.

  Returns:
    [N, num_points, 3] (hip, knee, ankle).
  """
  x = _check_x(x, "side_cycles")
  chans = list(constants.SIDE_CHANNELS[side])
  bounds_side = np.asarray(bounds_side).reshape(-1, 2)
  if bounds_side.shape[0] == 0:
    return np.zeros((0, num_points, 3), np.float64)
  return _resample_cycles(x[:, chans].astype(np.float64), bounds_side,
                          num_points)


# ------------------------------------------------------------------ matching


def match_cycles(real_bounds: np.ndarray, gen_bounds: np.ndarray, *,
                 max_score: float = DEFAULT_MAX_MATCH_SCORE
                 ) -> List[Tuple[int, int]]:
  """Greedy matching of real cycles to generated cycles (paper II.F.1).

  Real cycles are visited in order; each takes the unused generated cycle
  with the lowest score

      score(i, j) = |c_i - c_j| / L_i + |L_i - L_j| / L_i,

  with c the cycle centre (start + end) / 2 and L = end - start (samples),
  both relative to the real cycle's length L_i. A real cycle is unmatched when
  no generated cycle is left or when its best score is >= ``max_score``
  (default inf, the paper's unguarded rule, so a generated gait with a wrong
  cadence is scored, not dropped; ``max_score=1`` treats a generated cycle
  a whole cycle away as a different stride).

  Args:
    real_bounds: [N, 2] (start, end).
    gen_bounds: [M, 2] (start, end).
    max_score: see above.

  Returns:
    [(real_index, gen_index), ...] in real order.
  """
  rb = np.asarray(real_bounds, dtype=np.float64).reshape(-1, 2)
  gb = np.asarray(gen_bounds, dtype=np.float64).reshape(-1, 2)
  if rb.shape[0] == 0 or gb.shape[0] == 0:
    return []
  rl = rb[:, 1] - rb[:, 0]
  gl = gb[:, 1] - gb[:, 0]
  rc = 0.5 * (rb[:, 0] + rb[:, 1])
  gc = 0.5 * (gb[:, 0] + gb[:, 1])
  rl_safe = np.maximum(rl, 1e-9)[:, None]
  score = (np.abs(rc[:, None] - gc[None, :]) +
           np.abs(rl[:, None] - gl[None, :])) / rl_safe       # [N, M]
  pairs = []
  used = np.zeros(gb.shape[0], bool)
  for i in range(rb.shape[0]):
    if used.all():
      break
    row = np.where(used, np.inf, score[i])
    j = int(np.argmin(row))
    if row[j] < max_score:
      pairs.append((i, j))
      used[j] = True
  return pairs


# -------------------------------------------------------------- mean cycles


@dataclasses.dataclass(frozen=True)
class MeanCycles:
  """Mean and standard deviation of one sequence's normalised cycles.

  Attributes:
    mean: [6, 101] mean cycle per channel (NaN on a side without cycles).
    std: [6, 101] standard deviation across cycles (0 with one cycle).
    num_cycles: {'right': n, 'left': n}.
    reason: why a side is NaN (None when both sides have cycles).
  """
  mean: np.ndarray
  std: np.ndarray
  num_cycles: Dict[str, int]
  reason: Optional[str]


def _nan_side() -> np.ndarray:
  return np.full((3, NUM_POINTS), np.nan)


def _mean_std(cycles: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """[N, 101, 3] -> mean, std as [3, 101] each."""
  return cycles.mean(axis=0).T, cycles.std(axis=0).T


def mean_cycles(x: np.ndarray, rate_hz: float) -> MeanCycles:
  """Mean normalised cycle of every channel (cycles from the same side's hip).

  Args:
    x: [T, 6] joint angles.
    rate_hz: sampling rate.

  Returns:
    MeanCycles (mean/std [6, 101]).
  """
  x = _check_x(x, "mean_cycles")
  bounds = cycle_bounds(x, rate_hz, exact=True)
  mean = np.empty((6, NUM_POINTS))
  std = np.empty((6, NUM_POINTS))
  counts, reasons = {}, []
  for side in constants.SIDES:
    chans = list(constants.SIDE_CHANNELS[side])
    counts[side] = int(bounds[side].shape[0])
    if counts[side] < 1:
      mean[chans], std[chans] = _nan_side(), _nan_side()
      reasons.append(f"no complete gait cycle detected on the {side} hip")
      continue
    mean[chans], std[chans] = _mean_std(side_cycles(x, bounds[side], side))
  return MeanCycles(mean, std, counts, "; ".join(reasons) or None)


@dataclasses.dataclass(frozen=True)
class CycleComparison:
  """Cycle-normalised comparison of a real and a generated sequence.

  Attributes:
    mae_per_channel: [6] MAE between the mean real and mean generated cycle.
    mae: mean of the 6 (NaN when any channel is NaN).
    r_per_channel: [6] Pearson r between the two mean cycles (101 points).
    r: mean of the 6.
    num_matched: {'right': n, 'left': n} matched cycle pairs.
    reason: why values are NaN, or None.
    real_mean, gen_mean, real_std, gen_std: [6, 101] over matched cycles.
  """
  mae_per_channel: np.ndarray
  mae: float
  r_per_channel: np.ndarray
  r: float
  num_matched: Dict[str, int]
  reason: Optional[str]
  real_mean: np.ndarray
  gen_mean: np.ndarray
  real_std: np.ndarray
  gen_std: np.ndarray


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Row-wise Pearson r of [C, P] arrays; NaN where a row is constant."""
  a = a - a.mean(axis=1, keepdims=True)
  b = b - b.mean(axis=1, keepdims=True)
  den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
  with np.errstate(invalid="ignore", divide="ignore"):
    r = (a * b).sum(axis=1) / den
  return np.where(den > 1e-12, r, np.nan)


def cycle_mae(real: np.ndarray, gen: np.ndarray,
              rate_hz: float) -> CycleComparison:
  """Cycle-normalised MAE and r between a real and a generated sequence.

  Per side: detect cycles on both hips, match real to generated cycles
  (``match_cycles``), average the matched cycles of each, compare the mean
  curves. The sequences may differ in length.

  Args:
    real: [T, 6] ground truth (degrees).
    gen: [T', 6] generated (degrees).
    rate_hz: sampling rate of both.

  Returns:
    CycleComparison; NaN with a reason when a side has no matched cycles.
  """
  real = _check_x(real, "cycle_mae(real)")
  gen = _check_x(gen, "cycle_mae(gen)")
  rbounds = cycle_bounds(real, rate_hz, exact=True)
  gbounds = cycle_bounds(gen, rate_hz, exact=True)
  means = {k: np.full((6, NUM_POINTS), np.nan) for k in ("rm", "gm", "rs",
                                                        "gs")}
  matched, reasons = {}, []
  for side in constants.SIDES:
    chans = list(constants.SIDE_CHANNELS[side])
    pairs = match_cycles(rbounds[side], gbounds[side])
    matched[side] = len(pairs)
    if not pairs:
      reasons.append(
          f"{side} side: no matched cycles (real {len(rbounds[side])},"
          f" generated {len(gbounds[side])} detected)")
      continue
    ri = [p[0] for p in pairs]
    gi = [p[1] for p in pairs]
    rc = side_cycles(real, rbounds[side][ri], side)
    gc = side_cycles(gen, gbounds[side][gi], side)
    means["rm"][chans], means["rs"][chans] = _mean_std(rc)
    means["gm"][chans], means["gs"][chans] = _mean_std(gc)
  mae_c = np.abs(means["rm"] - means["gm"]).mean(axis=1)
  r_c = _pearson_rows(means["rm"], means["gm"])
  return CycleComparison(
      mae_per_channel=mae_c, mae=float(mae_c.mean()), r_per_channel=r_c,
      r=float(r_c.mean()), num_matched=matched,
      reason="; ".join(reasons) or None, real_mean=means["rm"],
      gen_mean=means["gm"], real_std=means["rs"], gen_std=means["gs"])


# ------------------------------------------------------------------- cadence


def hip_cadence(hip: np.ndarray, rate_hz: float) -> float:
  """Cadence (steps/min) of one hip; NaN with fewer than 2 peaks.

  Paper II.F.3: 60 * 2N / T_w. N counts the complete cycles between the
  first and last extension peak and T_w is the time they span, so a signal
  of period P gives 120 / P exactly (the window length itself would count a
  fractional cycle at each end as missing and bias cadence low by up to one
  cycle per window).
  """
  p = extension_peaks(hip, rate_hz)
  if p.size < 2:
    return float("nan")
  n = p.size - 1
  t_w = (p[-1] - p[0]) / rate_hz
  return float(60.0 * 2.0 * n / t_w)


def cadence(x: np.ndarray, rate_hz: float) -> float:
  """Cadence in steps/min, averaged over the right and left hips.

  Args:
    x: [T, 6] joint angles.
    rate_hz: sampling rate.

  Returns:
    Mean over the hips where it is detectable; NaN when neither is.
  """
  x = _check_x(x, "cadence")
  vals = [hip_cadence(x[:, c], rate_hz) for c in constants.HIP_CHANNELS]
  vals = [v for v in vals if np.isfinite(v)]
  return float(np.mean(vals)) if vals else float("nan")
