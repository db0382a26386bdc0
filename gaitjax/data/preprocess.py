"""From a raw trial to the model's input: rate, resampling, plausibility.

The paper (II.C) cuts one 30 s segment per speed trial and downsamples it from
200 Hz to 20 Hz "to filter out high frequency noise": here an anti-aliased
polyphase resampler (``scipy.signal.resample_poly``) does both at once.
"""
import fractions
import math
from typing import Callable, Optional

import chex
import numpy as np
from scipy import signal

from gaitjax import constants
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError

# A time column may wobble by this fraction of one sample period around the
# uniform grid (printed with few decimals: 150 Hz at 4 decimals wobbles by
# 0.75 %); a dropped sample shifts it by a whole period.
TIME_GRID_TOLERANCE: float = 0.1
# Rates estimated from a rounded time column are snapped to the nearest
# integer Hz within this relative distance (150.0002 Hz -> 150 Hz).
RATE_SNAP_RELATIVE: float = 1e-3
# Largest denominator of the resampling ratio up/down; the rate error of the
# rational approximation is below 1 / (2 * MAX_DENOMINATOR**2) relative.
MAX_RATIO_DENOMINATOR: int = 1000
# Half-length of resample_poly's default Kaiser filter, in samples of the
# upsampled signal, per max(up, down) (scipy: half_len = 10 * max(up, down)).
_FILTER_HALF_LEN_FACTOR: int = 10
# Walking moves at least one joint through tens of degrees; a trial whose
# largest peak-to-peak range is below 2 pi "degrees" is almost surely radians.
MIN_WALKING_RANGE_DEG: float = 2.0 * math.pi


def _sample(i: int) -> str:
  return f"sample {i}"


def check_time_finite(time: np.ndarray, where: str,
                      row: Callable[[int], str] = _sample) -> None:
  """DataError at the first NaN/Inf of ``time: [T]``; ``row(i)`` names it."""
  bad = np.flatnonzero(~np.isfinite(time))
  if bad.size:
    raise DataError(f"{where}: NaN/Inf in time at {row(int(bad[0]))}")


def check_time_increasing(time: np.ndarray, where: str,
                          row: Callable[[int], str] = _sample) -> None:
  """DataError at the first step of ``time: [T]`` that is not forward."""
  bad = np.flatnonzero(np.diff(time) <= 0)
  if bad.size:
    i = int(bad[0]) + 1
    raise DataError(f"{where}: time is not strictly increasing at {row(i)}"
                    f" ({time[i - 1]:.6g} s then {time[i]:.6g} s)")


def sampling_rate(time: np.ndarray, where: str = "time") -> float:
  """Sampling rate in Hz of a uniform, strictly increasing ``time: [T]`` s."""
  time = np.asarray(time, dtype=np.float64)
  if time.ndim != 1 or time.shape[0] < 2:
    raise DataError(f"{where}: need at least 2 time samples to know the"
                    f" sampling rate, got shape {time.shape}")
  check_time_finite(time, where)
  check_time_increasing(time, where)
  steps = np.diff(time)
  rate = (time.shape[0] - 1) / (time[-1] - time[0])
  grid = time[0] + np.arange(time.shape[0]) / rate
  off = np.abs(time - grid)
  i = int(np.argmax(off))
  if off[i] > TIME_GRID_TOLERANCE / rate:
    typical = float(np.median(steps))
    odd = np.flatnonzero(
        np.abs(steps - typical) > TIME_GRID_TOLERANCE * typical)
    if odd.size:
      j = int(odd[0])
      raise DataError(f"{where}: non-uniform sampling, the time step after "
                      f"sample {j} is {steps[j]:.6g} s, the typical step "
                      f"{typical:.6g} s (missing or repeated samples?)")
    raise DataError(f"{where}: non-uniform sampling, sample {i} (t="
                    f"{time[i]:.6g} s) is {off[i] * rate:.2f} sample periods"
                    f" off a uniform {rate:.6g} Hz grid (missing or repeated"
                    " samples?)")
  nearest = round(rate)
  if nearest > 0 and abs(rate - nearest) <= RATE_SNAP_RELATIVE * rate:
    rate = float(nearest)
  return float(rate)


def _ratio(rate_in: float, rate_out: float):
  fr = fractions.Fraction(rate_out / rate_in).limit_denominator(
      MAX_RATIO_DENOMINATOR)
  return fr.numerator, fr.denominator


def resample(angles: np.ndarray, rate_in: float,
             rate_out: float = constants.RATE_HZ) -> np.ndarray:
  """Anti-aliased resampling of ``angles: [T, F]`` -> ``[T', F]`` float64.

  Output sample k is at time k / rate_out from the first input sample; only
  times inside the input span are returned: T' = floor((T-1) up/down) + 1.
  The ends are extended by odd mirror images (2 x[0] - x[k:0:-1]), which keep
  value and slope continuous, so the filter does not ring at the ends.
  """
  angles = np.asarray(angles, dtype=np.float64)
  chex.assert_rank(angles, 2)
  if not (math.isfinite(rate_in) and rate_in >= constants.MIN_INPUT_RATE_HZ):
    raise DataError(f"sampling rate {rate_in:.4g} Hz is below the minimum "
                    f"{constants.MIN_INPUT_RATE_HZ:g} Hz; record at >= "
                    f"{constants.MIN_INPUT_RATE_HZ:g} Hz")
  if not (math.isfinite(rate_out) and rate_out > 0):
    raise DataError(f"output rate must be positive, got {rate_out}")
  num = angles.shape[0]
  if num < 2:
    raise DataError(f"need at least 2 samples to resample, got {num}")
  up, down = _ratio(rate_in, rate_out)
  if up == down:
    return angles.copy()
  # Pad by whole multiples of `down` so output samples stay on the grid.
  half = _FILTER_HALF_LEN_FACTOR * max(up, down) / up
  pad = min(math.ceil(half / down) * down, (num - 1) // down * down)
  if pad:
    left = 2.0 * angles[:1] - angles[pad:0:-1]
    right = 2.0 * angles[-1:] - angles[-2:-pad - 2:-1]
    padded = np.concatenate([left, angles, right], axis=0)
  else:
    padded = angles
  out = signal.resample_poly(padded, up, down, axis=0, padtype="line")
  start = pad * up // down
  count = (num - 1) * up // down + 1
  return out[start:start + count]


def _radians_hint(angles: np.ndarray) -> bool:
  return float(np.max(np.ptp(angles, axis=0))) < MIN_WALKING_RANGE_DEG


def check_plausible(angles: np.ndarray, where: str) -> None:
  """Raises DataError unless ``angles: [T, 6]`` look like walking in degrees.

  Checks: finite; every channel inside constants.PLAUSIBLE_RANGE_DEG; some
  joint moves through more than 2 pi degrees (else: radians).
  """
  angles = np.asarray(angles)
  if angles.ndim != 2 or angles.shape[1] != constants.NUM_CHANNELS:
    raise DataError(f"{where}: angles must be [T, {constants.NUM_CHANNELS}],"
                    f" got {angles.shape}")
  bad = np.argwhere(~np.isfinite(angles))
  if bad.size:
    i, j = (int(v) for v in bad[0])
    raise DataError(f"{where}: NaN/Inf in {constants.CHANNELS[j]} at sample"
                    f" {i}")
  for j, channel in enumerate(constants.CHANNELS):
    joint = constants.joint_of(j)
    lo, hi = constants.PLAUSIBLE_RANGE_DEG[joint]
    col = angles[:, j]
    i = int(np.argmax(np.maximum(lo - col, col - hi)))
    if lo <= col[i] <= hi:
      continue
    if joint == "knee" and col.min() < lo and col.max() <= 10.0:
      cause = ("knee flexion looks negative (OpenSim/Camargo knee_angle is"
               " flexion-negative: negate it)")
    elif _radians_hint(angles):
      cause = "values look like radians (convert to degrees)"
    else:
      cause = ("wrong unit, sign or channel order (expected "
               f"{', '.join(constants.CHANNELS)} in degrees, flexion +)")
    raise DataError(f"{where}: {channel} = {col[i]:.4g} deg at sample {i},"
                    f" outside the plausible {lo:g}..{hi:g} deg; likely"
                    f" cause: {cause}")
  if angles.shape[0] > 1 and _radians_hint(angles):
    ptp = float(np.max(np.ptp(angles, axis=0)))
    raise DataError(f"{where}: no joint moves more than {ptp:.3g} deg; likely"
                    " cause: values in radians (convert to degrees)")


def model_samples(trial: Trial, rate_hz: float = constants.RATE_HZ) -> int:
  """Samples ``resample`` gives for ``trial`` at ``rate_hz`` (0 if it can't)."""
  num = trial.angles.shape[0]
  if (num < 2 or not math.isfinite(trial.rate_hz)
      or trial.rate_hz < constants.MIN_INPUT_RATE_HZ):
    return 0
  up, down = _ratio(trial.rate_hz, rate_hz)
  return (num - 1) * up // down + 1


def to_model_input(trial: Trial, seq_len: int = constants.SEQ_LEN,
                   rate_hz: float = constants.RATE_HZ,
                   min_cycles: Optional[int] = None) -> np.ndarray:
  """The model input of one recording: [seq_len, 6] float32 deg.

  The first ``seq_len`` samples at ``rate_hz`` (30 s, paper II.C); a shorter
  recording is assembled from its whole gait cycles
  (``gaitjax.data.assemble``), which needs ``min_cycles`` (default 5)
  complete cycles per side, else a DataError naming the file and the count.
  """
  where = trial.origin or f"subject {trial.subject} at {trial.speed_mps} m/s"
  check_plausible(trial.angles, where)
  try:
    out = resample(trial.angles, trial.rate_hz, rate_hz)
  except DataError as e:
    raise DataError(f"{where}: {e}") from e
  if out.shape[0] < seq_len:
    from gaitjax.data import assemble  # pylint: disable=g-import-not-at-top
    if min_cycles is None:
      min_cycles = assemble.DEFAULT_MIN_CYCLES
    return assemble.assemble([trial], seq_len=seq_len, rate_hz=rate_hz,
                             min_cycles=min_cycles).x
  out = out[:seq_len].astype(np.float32)
  chex.assert_shape(out, (seq_len, constants.NUM_CHANNELS))
  return out
