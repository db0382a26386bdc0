"""The unit every reader produces: one subject walking at one speed."""
import dataclasses
from typing import Optional

import numpy as np

from gaitjax import constants
from gaitjax.errors import DataError


@dataclasses.dataclass(frozen=True)
class Trial:
  """One recording of one subject at one constant walking speed.

  Attributes:
    subject: subject identifier, unique within a dataset.
    speed_mps: treadmill / walking speed in m/s (> 0).
    angles: [T_raw, 6] joint angles in degrees, canonical channel order and
      clinical signs (see gaitjax.constants), at ``rate_hz``.
    rate_hz: sampling rate of ``angles``.
    cohort: 'able_bodied' or 'stroke'.
    paretic_side: 'left' | 'right' for stroke subjects, None otherwise.
    origin: where it came from (a file path, or 'synthetic'); used in errors.
  """
  subject: str
  speed_mps: float
  angles: np.ndarray
  rate_hz: float
  cohort: str = "able_bodied"
  paretic_side: Optional[str] = None
  origin: str = ""

  def __post_init__(self):
    where = self.origin or f"subject {self.subject!r} at {self.speed_mps} m/s"
    angles = np.asarray(self.angles)
    if angles.ndim != 2 or angles.shape[1] != constants.NUM_CHANNELS:
      raise DataError(f"{where}: angles must be [T, {constants.NUM_CHANNELS}]"
                      f" ({', '.join(constants.CHANNELS)}), got shape"
                      f" {angles.shape}")
    if not np.all(np.isfinite(angles)):
      bad = np.argwhere(~np.isfinite(angles))[0]
      raise DataError(f"{where}: non-finite value (NaN/Inf) in channel "
                      f"{constants.CHANNELS[bad[1]]} at sample {bad[0]}")
    if not (isinstance(self.speed_mps, (int, float, np.floating))
            and np.isfinite(self.speed_mps)):
      raise DataError(f"{where}: speed must be a finite number in m/s, got "
                      f"{self.speed_mps!r}")
    lo, hi = constants.SPEED_LIMITS_MPS
    if not lo <= float(self.speed_mps) <= hi:
      raise DataError(f"{where}: speed {self.speed_mps} m/s outside the "
                      f"walking range [{lo}, {hi}] m/s")
    if not (np.isfinite(self.rate_hz) and self.rate_hz > 0):
      raise DataError(f"{where}: sampling rate must be positive, got "
                      f"{self.rate_hz}")
    if self.cohort not in constants.COHORTS:
      raise DataError(f"{where}: cohort must be one of {constants.COHORTS},"
                      f" got {self.cohort!r}")
    if self.paretic_side not in (None,) + constants.PARETIC_SIDES:
      raise DataError(f"{where}: paretic_side must be left, right or empty,"
                      f" got {self.paretic_side!r}")
    object.__setattr__(self, "angles", angles.astype(np.float32))
    object.__setattr__(self, "speed_mps", float(self.speed_mps))
    object.__setattr__(self, "rate_hz", float(self.rate_hz))

  @property
  def duration_s(self) -> float:
    return self.angles.shape[0] / self.rate_hz
