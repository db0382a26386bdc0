"""Source -> target pairs within a subject (paper II.C, II.E).

A pair is two trial indices ``(src, tgt)`` of one TrialSet, always of the
same subject. Three categories by speed difference (paper II.D.3):
identity (|dv| = 0), near (0 < |dv| < 0.1 m/s) and cross (|dv| >= 0.1).
Speed differences are compared in whole mm/s (``speed_difference_mm``:
|dv| rounded to 1 mm/s, thresholds too), so float32 speeds of a 0.05 m/s
grid put |dv| = 0.1 in 'cross' on every machine: the paper's test is
strict (|dv| < 0.1 m/s, II.D.3). The identity loss term (diffusion/
losses.py) uses the same function, so a pair gets that term exactly when
it is 'identity' or 'near' here.

Validation and test use every within-subject pair (``within_subject_pairs``).
Training draws pairs from a balanced distribution
(``sample_training_pairs``): a third identity, a third near, a third
cross-speed, the cross-speed ones uniform over |dv| bins so large speed
changes are as common as small ones. That balance is [ours]: the paper says
only that training pairs "randomly sample across identity/same-speed pairs
and cross-speed pairs" (II.C). How the paper's "up to 100,000 balanced
pairs" budget is spent is pipeline.PairSampler's business (see there).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from gaitjax.errors import ConfigError, DataError

IDENTITY, NEAR, CROSS = "identity", "near", "cross"
CATEGORIES: Tuple[str, ...] = (IDENTITY, NEAR, CROSS)
# How far a trial's speed may be from a requested source speed (baselines'
# fixed source speeds, paper II.G): half the 0.05 m/s grid plus slack.
SOURCE_SPEED_TOLERANCE_MPS = 0.026
# Width of the |dv| bins cross-speed pairs are spread over.
DV_BIN_WIDTH_MPS = 0.1


SPEED_RESOLUTION_MPS = 1e-3   # speeds closer than 1 mm/s are one speed


def speed_difference_mm(v_src, v_tgt, xp=np):
  """|v_tgt - v_src| in whole mm/s (float array of integers).

  ``xp`` is numpy (pairs, evaluation) or jax.numpy (the loss, traced): one
  rounding rule everywhere. float32 speeds differ from their decimal value
  by < 1e-7 m/s, far from the 0.5 mm/s where rounding could flip.
  """
  dv = xp.abs(xp.asarray(v_tgt) - xp.asarray(v_src))
  return xp.round(dv / SPEED_RESOLUTION_MPS)


def threshold_mm(threshold_mps: float) -> int:
  """A |dv| threshold in whole mm/s (compare with speed_difference_mm)."""
  return int(round(float(threshold_mps) / SPEED_RESOLUTION_MPS))


def is_near_or_identity(v_src, v_tgt, threshold_mps: float = 0.1, xp=np):
  """|dv| < threshold (strict), in whole mm/s: identity and near pairs."""
  return speed_difference_mm(v_src, v_tgt, xp) < threshold_mm(threshold_mps)


def speed_difference(v_src, v_tgt) -> np.ndarray:
  """|v_tgt - v_src| rounded to 1 mm/s, in m/s (see the module docstring)."""
  v_src = np.asarray(v_src, np.float64)
  v_tgt = np.asarray(v_tgt, np.float64)
  return speed_difference_mm(v_src, v_tgt) * SPEED_RESOLUTION_MPS


def pair_category(v_src, v_tgt, near: float = 0.1
                  ) -> Union[str, np.ndarray]:
  """'identity' | 'near' | 'cross' for scalars, or a str array for arrays."""
  mm = speed_difference_mm(np.asarray(v_src, np.float64),
                           np.asarray(v_tgt, np.float64))
  cat = np.where(mm == 0, IDENTITY,
                 np.where(mm < threshold_mm(near), NEAR, CROSS))
  return str(cat) if cat.ndim == 0 else cat.astype(object)


def within_subject_pairs(ts) -> np.ndarray:
  """All (src, tgt) index pairs of the same subject, identity included.

  Args:
    ts: a TrialSet (sorted by subject, speed).

  Returns:
    [P, 2] int64 with P = sum over subjects of n_s^2, ordered by subject,
    then source, then target.
  """
  out = []
  for s in range(len(ts.subjects)):
    idx = np.flatnonzero(ts.subject_index == s)
    src, tgt = np.meshgrid(idx, idx, indexing="ij")
    out.append(np.stack([src.ravel(), tgt.ravel()], axis=1))
  if not out:
    return np.zeros((0, 2), np.int64)
  return np.concatenate(out).astype(np.int64)


def allowed_sources(ts, source_speeds: Sequence[float],
                    tolerance: float = SOURCE_SPEED_TOLERANCE_MPS
                    ) -> np.ndarray:
  """[N] bool: trials at a subject's nearest speed to one of source_speeds.

  For every subject and requested speed, the trials at that subject's nearest
  available speed qualify if it is within ``tolerance`` m/s.
  """
  ok = np.zeros(len(ts), bool)
  for s in range(len(ts.subjects)):
    idx = np.flatnonzero(ts.subject_index == s)
    speeds = ts.speed[idx].astype(np.float64)
    for v in source_speeds:
      gap = np.abs(speeds - float(v))
      if gap.min() <= tolerance:
        ok[idx[np.isclose(gap, gap.min(), atol=1e-6)]] = True
  return ok


def _cross_bins(dv: np.ndarray, near: float, width: float) -> np.ndarray:
  """Bin index of every cross-speed |dv| (bins of ``width`` from ``near``)."""
  return np.floor((dv - near) / width + 1e-6).astype(np.int64)


def sample_training_pairs(ts, rng: np.random.Generator, n: int,
                          fractions: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                          near_threshold: float = 0.1,
                          source_speeds: Sequence[float] = (),
                          dv_bin_width: float = DV_BIN_WIDTH_MPS,
                          candidates: Optional[np.ndarray] = None
                          ) -> np.ndarray:
  """Draws n balanced training pairs (with replacement).

  Each pair's category is drawn with probabilities ``fractions`` (identity,
  near, cross; renormalised over the categories that have pairs, e.g. the
  stroke speeds have no near pairs). Within identity and near, pairs are
  uniform; within cross, a |dv| bin is chosen uniformly among the non-empty
  ones, then a pair uniformly inside it.

  Args:
    ts: TrialSet (training split).
    rng: numpy Generator.
    n: number of pairs.
    fractions: target shares of identity / near / cross pairs.
    near_threshold: |dv| below which a pair is 'near' (m/s).
    source_speeds: if non-empty, the source trial must be at the subject's
      nearest speed to one of these (within 0.026 m/s) - the baselines.
    dv_bin_width: width of the cross-speed |dv| bins (m/s).
    candidates: [P, 2] pairs to draw from; default all within-subject pairs.

  Returns:
    [n, 2] int64 (src, tgt) indices into ts, in random order.
  """
  pools = category_pools(ts, near_threshold, source_speeds, dv_bin_width,
                         candidates)
  return draw_from_pools(pools, rng, n, fractions)


def draw_from_pools(pools, rng: np.random.Generator, n: int,
                    fractions: Sequence[float] = (1 / 3, 1 / 3, 1 / 3)
                    ) -> np.ndarray:
  """sample_training_pairs on pools from ``category_pools`` (built once)."""
  fractions = np.asarray(fractions, np.float64)
  if fractions.shape != (3,) or np.any(fractions < 0) or fractions.sum() <= 0:
    raise ConfigError(f"data.pair_fractions={tuple(fractions.ravel())}: "
                      f"expected three shares >= 0 (identity, near, cross)")
  sizes = np.asarray([sum(len(b) for b in pools[c]) for c in CATEGORIES])
  p = np.where(sizes > 0, fractions, 0.0)
  if p.sum() <= 0:
    raise DataError(f"no training pair in the wanted categories (pairs per "
                    f"identity/near/cross: {sizes.tolist()}, fractions "
                    f"{fractions.tolist()})")
  counts = rng.multinomial(n, p / p.sum())
  out = [np.zeros((0, 2), np.int64)]
  for cat, count in zip(CATEGORIES, counts):
    if count == 0:
      continue
    bins = pools[cat]
    # Identity/near are one bin each; cross has one bin per |dv| band.
    which = rng.integers(len(bins), size=count)
    for b in np.unique(which):
      k = int(np.sum(which == b))
      out.append(bins[b][rng.integers(len(bins[b]), size=k)])
  pairs = np.concatenate(out)
  return pairs[rng.permutation(len(pairs))]


def category_pools(ts, near_threshold: float = 0.1,
                   source_speeds: Sequence[float] = (),
                   dv_bin_width: float = DV_BIN_WIDTH_MPS,
                   candidates: Optional[np.ndarray] = None):
  """{category: [pairs [P_b, 2] per bin]}: identity, near = one bin each."""
  pairs = within_subject_pairs(ts) if candidates is None else \
      np.asarray(candidates, np.int64)
  if len(source_speeds):
    ok = allowed_sources(ts, source_speeds)
    if not ok.any():
      raise ConfigError(f"data.source_speeds={tuple(source_speeds)}: no "
                        f"trial within {SOURCE_SPEED_TOLERANCE_MPS} m/s of "
                        f"them (speeds {np.unique(ts.speed).tolist()})")
    pairs = pairs[ok[pairs[:, 0]]]
  v_src = ts.speed[pairs[:, 0]].astype(np.float64)
  v_tgt = ts.speed[pairs[:, 1]].astype(np.float64)
  mm = speed_difference_mm(v_src, v_tgt)
  dv = mm * SPEED_RESOLUTION_MPS
  ident = mm == 0
  near = (mm > 0) & (mm < threshold_mm(near_threshold))
  cross = ~ident & ~near
  pools = {IDENTITY: [pairs[ident]] if ident.any() else [],
           NEAR: [pairs[near]] if near.any() else [], CROSS: []}
  if cross.any():
    bins = _cross_bins(dv[cross], near_threshold, dv_bin_width)
    pools[CROSS] = [pairs[cross][bins == b] for b in np.unique(bins)]
  return pools
