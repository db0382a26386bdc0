"""Feature-wise z-score normalisation (paper II.C).

One mean and standard deviation per channel, computed over a whole set of
trials (never per subject or speed, which would erase subject identity).
Able-bodied statistics come from the training split; stroke statistics from
12 randomly chosen stroke subjects (``choose_stats_subjects``).
"""
import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from gaitjax import constants
from gaitjax.errors import CheckpointError, DataError

# Keeps a channel that barely moves from blowing up after division.
STD_FLOOR: float = 1e-3
# The paper's stroke normalisation set size (II.C).
NUM_STATS_SUBJECTS: int = 12


def _check_vector(name: str, value: Any, error: type, positive: bool):
  arr = np.asarray(value, dtype=np.float64) if _is_numeric(value) else None
  if arr is None or arr.shape != (constants.NUM_CHANNELS,):
    shape = np.shape(value) if arr is None else arr.shape
    raise error(f"norm stats: {name!r} must be {constants.NUM_CHANNELS}"
                f" numbers (one per channel), got shape {shape}")
  if not np.all(np.isfinite(arr)):
    raise error(f"norm stats: {name!r} has NaN/Inf: {arr.tolist()}")
  if positive and not np.all(arr > 0):
    raise error(f"norm stats: {name!r} must be > 0, got {arr.tolist()}")
  return arr.astype(np.float32)


def _is_numeric(value: Any) -> bool:
  try:
    return np.issubdtype(np.asarray(value).dtype, np.number)
  except (TypeError, ValueError):
    return False


@dataclasses.dataclass(frozen=True, eq=False)
class NormStats:
  """Per-channel z-score statistics.

  Attributes:
    mean: [6] float32, degrees.
    std: [6] float32, degrees, > 0.
  """
  mean: np.ndarray  # [6]
  std: np.ndarray  # [6]

  def __post_init__(self):
    object.__setattr__(self, "mean",
                       _check_vector("mean", self.mean, DataError, False))
    object.__setattr__(self, "std",
                       _check_vector("std", self.std, DataError, True))

  def normalize(self, x):
    """(x - mean) / std over the last axis; x: [..., 6] numpy or jax."""
    return (x - self.mean) / self.std

  def denormalize(self, x):
    """x * std + mean over the last axis; x: [..., 6] numpy or jax."""
    return x * self.std + self.mean

  def to_dict(self) -> Dict[str, List[float]]:
    """Plain lists (JSON-ready)."""
    return {"mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std]}

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "NormStats":
    """Inverse of ``to_dict``; CheckpointError if malformed."""
    if not isinstance(d, Mapping):
      raise CheckpointError(f"norm stats: expected a mapping with 'mean' and"
                            f" 'std', got {type(d).__name__}")
    missing = [k for k in ("mean", "std") if k not in d]
    if missing:
      raise CheckpointError(f"norm stats: missing key {missing[0]!r} (have "
                            f"{sorted(d)})")
    return cls(mean=_check_vector("mean", d["mean"], CheckpointError, False),
               std=_check_vector("std", d["std"], CheckpointError, True))


def fit_stats(x: np.ndarray) -> NormStats:
  """Feature-wise mean / std of ``x: [N, T, 6]`` over N and T (std >= 1e-3)."""
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 3 or x.shape[-1] != constants.NUM_CHANNELS or x.size == 0:
    raise DataError(f"norm stats: need a non-empty [N, T, "
                    f"{constants.NUM_CHANNELS}] array, got {x.shape}")
  if not np.all(np.isfinite(x)):
    raise DataError("norm stats: input has NaN/Inf")
  flat = x.reshape(-1, constants.NUM_CHANNELS)
  return NormStats(mean=flat.mean(axis=0),
                   std=np.maximum(flat.std(axis=0), STD_FLOOR))


def choose_stats_subjects(subjects: Sequence[str],
                          num: int = NUM_STATS_SUBJECTS,
                          seed: int = 0) -> List[str]:
  """``num`` distinct subjects drawn at random (all if fewer), sorted.

  The draw depends only on the set of names and the seed, not on their order
  or repetitions (a per-trial subject list works).
  """
  if num < 1:
    raise DataError(f"norm stats: number of subjects must be >= 1, got {num}")
  unique = sorted(set(str(s) for s in subjects))
  if not unique:
    raise DataError("norm stats: no subjects to choose from")
  if len(unique) <= num:
    return unique
  rng = np.random.default_rng(seed)
  pick = rng.choice(len(unique), size=num, replace=False)
  return sorted(unique[i] for i in pick)


# The name docs/ARCHITECTURE.md uses.
stroke_stats_subjects = choose_stats_subjects


def fit_cohort_stats(x: np.ndarray, subject: Sequence[str],
                     cohort: Sequence[str], which: str = "stroke",
                     num: int = NUM_STATS_SUBJECTS, seed: int = 0
                     ) -> Optional[Dict[str, Any]]:
  """Statistics of one cohort fitted on up to ``num`` of its own subjects.

  The paper normalises stroke subjects with statistics of 12 randomly chosen
  stroke subjects (II.C); a user's folder with stroke subjects brings its
  own. Args: x [N, T, 6] degrees, subject [N], cohort [N] of the trials.

  Returns:
    None when no trial is of ``which``; else (JSON-able)
    {'stats': NormStats.to_dict(), 'subjects': chosen names, 'seed': seed,
     'fit_on': text}.
  """
  cohort = [str(c) for c in cohort]
  subject = [str(s) for s in subject]
  members = sorted({s for s, c in zip(subject, cohort) if c == which})
  if not members:
    return None
  chosen = choose_stats_subjects(members, num=min(num, len(members)),
                                 seed=seed)
  keep = set(chosen)
  rows = [i for i, (s, c) in enumerate(zip(subject, cohort))
          if c == which and s in keep]
  stats = fit_stats(np.asarray(x)[rows])
  return {"stats": stats.to_dict(), "subjects": chosen, "seed": int(seed),
          "fit_on": (f"{len(chosen)} of {len(members)} {which} subjects "
                     f"drawn with seed {seed}")}
