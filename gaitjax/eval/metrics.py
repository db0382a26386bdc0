"""Per-pair evaluation metrics (paper II.F) and their summaries.

Everything here is numpy on host arrays in degrees, channel order
``gaitjax.constants.CHANNELS``. Cycle detection, matching and time
normalisation come from ``gaitjax.gait.cycles``; this module only combines
them into per-pair records (plain JSON-friendly dicts) and summaries.

Record keys (one record per generated pair):
  index, subject, cohort, paretic_side ('' if none), v_src, v_tgt
  mae, r                        overall (mean over the 6 channels)
  mae_<joint>_<side>, r_<...>   per channel; side in right/left
  mae_<side>, r_<side>          per side (mean over its 3 joints)
  stroke only: the same with side in paretic/non_paretic
  num_matched_<right|left>      matched real/generated cycle pairs
  cadence_real, cadence_gen     steps/min
  cadence_abs_err               |gen - real| steps/min
  cadence_pct_err               100 * |gen - real| / real
  rank, cohort_size             personalisation rank (1 = own subject closest)
  reasons                       {'mae' | 'cadence' | 'rank': why it is NaN}

Personalisation rank: the generated sample's mean gait cycles [6, 101] are
compared (mean absolute difference over all channels and cycle points) with
every subject's real mean cycles at the target speed; the rank is the 1-based
position of the sample's own subject in ascending MAE, ties counted in the
subject's favour (rank = 1 + number of subjects strictly closer). For each
subject the real trial whose speed is closest to ``v_tgt`` is used, and only if
it lies within ``speed_tol`` m/s (default 0.1: exact for the 0.05 m/s
able-bodied grid and the stroke base speeds; a stroke self-selected target is
compared with each subject's nearest trial, base or self-selected, within
0.1 m/s). Subjects without such a trial are left out, and ``cohort_size`` says
how many were compared.
"""
import collections
import dataclasses
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import chex
import numpy as np

from gaitjax import constants
from gaitjax.errors import DataError
from gaitjax.gait import cycles

Record = Dict[str, Any]

DEFAULT_SPEED_TOL: float = 0.1
# Keys of a record that describe the pair rather than measure it.
_META_KEYS = ("index", "subject", "cohort", "paretic_side", "v_src", "v_tgt",
              "reasons")
_META_FIELDS = ("subject", "v_src", "v_tgt", "cohort", "paretic_side")


def side_labels(cohort: str, paretic_side: Optional[str]
                ) -> Dict[str, Tuple[int, int, int]]:
  """Side name -> channel indices used for per-side metrics.

  Always right/left; stroke subjects with a known paretic side also get
  'paretic' / 'non_paretic' (e.g. left-paretic: paretic = channels 3, 4, 5).
  """
  labels = dict(constants.SIDE_CHANNELS)
  if cohort == "stroke" and paretic_side:
    if paretic_side not in constants.PARETIC_SIDES:
      raise DataError(f"paretic_side must be one of {constants.PARETIC_SIDES},"
                      f" got {paretic_side!r}")
    other = "right" if paretic_side == "left" else "left"
    labels["paretic"] = constants.SIDE_CHANNELS[paretic_side]
    labels["non_paretic"] = constants.SIDE_CHANNELS[other]
  return labels


def _nanmean(x) -> float:
  x = np.asarray(x, np.float64)
  x = x[np.isfinite(x)]
  return float(x.mean()) if x.size else math.nan


def _channel_fields(prefix: str, values: np.ndarray, cohort: str,
                    paretic_side: Optional[str]) -> Record:
  """values [6] -> {prefix_<joint>_<side>, prefix_<side>} for every side label."""
  out = {}
  for side, chans in side_labels(cohort, paretic_side).items():
    for joint, c in zip(constants.JOINTS, chans):
      out[f"{prefix}_{joint}_{side}"] = float(values[c])
    out[f"{prefix}_{side}"] = _nanmean(values[list(chans)])
  return out


def _check_meta(meta: Mapping[str, Sequence], n: int) -> None:
  for key in _META_FIELDS:
    if key not in meta:
      raise DataError(f"pair metadata: missing field {key!r} (expected "
                      f"{', '.join(_META_FIELDS)})")
    if len(meta[key]) != n:
      raise DataError(f"pair metadata: field {key!r} has {len(meta[key])} "
                      f"entries, expected {n} (one per pair)")


def _as_pairs(real: np.ndarray, gen: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  real = np.asarray(real, np.float64)
  gen = np.asarray(gen, np.float64)
  if real.ndim != 3 or real.shape[-1] != constants.NUM_CHANNELS:
    raise DataError(f"real targets must be [N, T, {constants.NUM_CHANNELS}] "
                    f"degrees, got shape {real.shape}")
  if gen.shape != real.shape:
    raise DataError(f"generated samples have shape {gen.shape}, expected the "
                    f"real targets' shape {real.shape}")
  return real, gen


# ------------------------------------------------------------- reference bank
@dataclasses.dataclass(frozen=True)
class ReferenceBank:
  """Real mean gait cycles per (subject, speed), computed once.

  Attributes:
    subjects: the subjects, [S].
    entry_subject: [M] int index into ``subjects`` of each entry.
    entry_speed: [M] speed (m/s) of each entry.
    entry_mean: [M, 6, 101] real mean cycle of each entry.
    speed_tol: largest |speed - v_tgt| (m/s) accepted as "the same speed".
    skipped: reason -> count of trials left out (no usable cycles).
  """
  subjects: Tuple[str, ...]
  entry_subject: np.ndarray   # [M]
  entry_speed: np.ndarray     # [M]
  entry_mean: np.ndarray      # [M, 6, 101]
  speed_tol: float
  skipped: Dict[str, int]

  def lookup(self, v_tgt: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per subject, the entry closest to v_tgt within speed_tol.

    Returns:
      (entry index [S] int, -1 where none, ok [S] bool).
    """
    dist = np.abs(self.entry_speed - v_tgt)
    # Rounding makes 0.6 vs 0.600001 float noise count as the same distance.
    dist = np.where(np.round(dist, 6) <= self.speed_tol + 1e-9, dist, np.inf)
    best = np.full(len(self.subjects), -1, np.int64)
    best_d = np.full(len(self.subjects), np.inf)
    for m in np.flatnonzero(np.isfinite(dist)):
      s = self.entry_subject[m]
      if dist[m] < best_d[s]:
        best[s], best_d[s] = m, dist[m]
    return best, best >= 0


def build_reference_bank(x: np.ndarray, subject: Sequence[str],
                         speed: Sequence[float], *,
                         rate_hz: float = constants.RATE_HZ,
                         speed_tol: float = DEFAULT_SPEED_TOL) -> ReferenceBank:
  """Precomputes real mean cycles of every trial of a cohort.

  Args:
    x: [N, T, 6] real trials in degrees (all subjects of the cohort, all
      splits: the paper ranks against the whole cohort).
    subject: [N] subject ids.
    speed: [N] speeds in m/s.
    rate_hz: sampling rate of x.
    speed_tol: see ``ReferenceBank``.
  """
  x = np.asarray(x, np.float64)
  if x.ndim != 3 or x.shape[-1] != constants.NUM_CHANNELS:
    raise DataError(f"reference trials must be [N, T, 6] degrees, got shape "
                    f"{x.shape}")
  if not (len(subject) == len(speed) == x.shape[0]):
    raise DataError(f"reference trials: {x.shape[0]} trials but "
                    f"{len(subject)} subjects and {len(speed)} speeds")
  subjects = tuple(dict.fromkeys(str(s) for s in subject))
  index = {s: i for i, s in enumerate(subjects)}
  ent_subj, ent_speed, ent_mean = [], [], []
  skipped = collections.Counter()
  for i in range(x.shape[0]):
    mc = cycles.mean_cycles(x[i], rate_hz)
    mean = np.asarray(mc.mean, np.float64)
    if mc.reason or not np.all(np.isfinite(mean)):
      skipped[mc.reason or "non-finite mean cycle"] += 1
      continue
    ent_subj.append(index[str(subject[i])])
    ent_speed.append(float(speed[i]))
    ent_mean.append(mean)
  n_pts = ent_mean[0].shape[-1] if ent_mean else 101
  return ReferenceBank(
      subjects=subjects,
      entry_subject=np.asarray(ent_subj, np.int64),
      entry_speed=np.asarray(ent_speed, np.float64),
      entry_mean=(np.stack(ent_mean) if ent_mean
                  else np.zeros((0, constants.NUM_CHANNELS, n_pts))),
      speed_tol=float(speed_tol),
      skipped=dict(skipped))


@dataclasses.dataclass(frozen=True)
class RankResult:
  rank: float          # 1-based, NaN when undefined
  cohort_size: int     # subjects compared
  reason: str          # '' when defined


def rank_from_mean(gen_mean: np.ndarray, subject: str, v_tgt: float,
                   bank: ReferenceBank) -> RankResult:
  """Personalisation rank of one generated mean cycle.

  Args:
    gen_mean: [6, 101] generated mean gait cycles (degrees).
    subject: the subject the sample should match.
    v_tgt: target speed (m/s).
    bank: real mean cycles of the cohort.
  """
  chex.assert_rank(gen_mean, 2)
  if not np.all(np.isfinite(gen_mean)):
    return RankResult(math.nan, 0, "generated sample has no usable cycles")
  if subject not in bank.subjects:
    return RankResult(math.nan, 0, "subject not in the reference bank")
  entry, ok = bank.lookup(v_tgt)
  own = bank.subjects.index(subject)
  size = int(ok.sum())
  if not ok[own]:
    return RankResult(math.nan, size, f"own subject has no real trial within "
                      f"{bank.speed_tol} m/s of the target speed")
  compared = np.flatnonzero(ok)                           # [size] subjects
  maes = np.mean(np.abs(bank.entry_mean[entry[compared]] - gen_mean[None]),
                 axis=(1, 2))
  own_mae = maes[np.searchsorted(compared, own)]
  return RankResult(float(1 + np.sum(maes < own_mae)), size, "")


def rank_samples(gen: np.ndarray, subjects: Sequence[str],
                 v_tgt: Sequence[float], bank: ReferenceBank, *,
                 rate_hz: float = constants.RATE_HZ) -> List[RankResult]:
  """Personalisation ranks of generated samples against the subject they
  should match (also for randomised-encoding samples: pass the subject whose
  target was asked for, not the one whose source conditioned the model).

  Args:
    gen: [N, T, 6] generated samples (degrees).
    subjects: [N] subject each sample should match.
    v_tgt: [N] target speeds.
    bank: ``build_reference_bank`` of the cohort's real data.
  """
  gen = np.asarray(gen, np.float64)
  if gen.ndim != 3 or gen.shape[-1] != constants.NUM_CHANNELS:
    raise DataError(f"generated samples must be [N, T, 6], got {gen.shape}")
  if not len(subjects) == len(v_tgt) == gen.shape[0]:
    raise DataError(f"{gen.shape[0]} samples but {len(subjects)} subjects and "
                    f"{len(v_tgt)} target speeds")
  out = []
  for i in range(gen.shape[0]):
    mc = cycles.mean_cycles(gen[i], rate_hz)
    if mc.reason:
      out.append(RankResult(math.nan, 0, f"generated: {mc.reason}"))
      continue
    out.append(rank_from_mean(np.asarray(mc.mean, np.float64),
                              str(subjects[i]), float(v_tgt[i]), bank))
  return out


def attach_ranks(records: List[Record], ranks: Sequence[RankResult], *,
                 key: str = "rank") -> List[Record]:
  """Copies records with ``key`` / ``<key>_cohort_size`` set from ranks
  (e.g. key='rank_random' for randomised-encoding samples)."""
  if len(records) != len(ranks):
    raise DataError(f"{len(ranks)} ranks for {len(records)} records")
  size_key = "cohort_size" if key == "rank" else f"{key}_cohort_size"
  out = []
  for rec, rr in zip(records, ranks):
    rec = dict(rec, reasons=dict(rec.get("reasons", {})))
    rec[key], rec[size_key] = rr.rank, rr.cohort_size
    rec["reasons"].pop(key, None)
    if rr.reason:
      rec["reasons"][key] = rr.reason
    out.append(rec)
  return out


# ---------------------------------------------------------------- per pair
def pair_record(real: np.ndarray, gen: np.ndarray, *, subject: str,
                v_src: float, v_tgt: float, cohort: str,
                paretic_side: Optional[str] = None,
                rate_hz: float = constants.RATE_HZ,
                bank: Optional[ReferenceBank] = None,
                index: int = 0) -> Record:
  """Metrics of one generated sequence against its real target.

  Args:
    real: [T, 6] real target (degrees).
    gen: [T, 6] generated sample (degrees).
    bank: real mean cycles of the cohort; without one, rank is NaN.
  """
  chex.assert_rank([real, gen], 2)
  chex.assert_equal_shape([real, gen])
  paretic_side = paretic_side or ""
  rec: Record = {"index": int(index), "subject": str(subject),
                 "cohort": str(cohort), "paretic_side": paretic_side,
                 "v_src": float(v_src), "v_tgt": float(v_tgt)}
  reasons: Dict[str, str] = {}

  cmp = cycles.cycle_mae(real, gen, rate_hz)
  # A side without matched cycles is NaN on its channels; the other side's
  # values stay, but the overall values need both sides.
  mae_ch = np.asarray(cmp.mae_per_channel, np.float64)
  r_ch = np.asarray(cmp.r_per_channel, np.float64)
  if cmp.reason:
    reasons["mae"] = cmp.reason
  elif not np.all(np.isfinite(r_ch)):
    reasons["r"] = "r undefined on a channel (constant mean cycle)"
  rec["mae"] = math.nan if cmp.reason else _nanmean(mae_ch)
  rec["r"] = math.nan if cmp.reason else _nanmean(r_ch)
  rec.update(_channel_fields("mae", mae_ch, cohort, paretic_side))
  rec.update(_channel_fields("r", r_ch, cohort, paretic_side))
  for side in constants.SIDES:
    rec[f"num_matched_{side}"] = int(cmp.num_matched.get(side, 0))

  cad_real = float(cycles.cadence(real, rate_hz))
  cad_gen = float(cycles.cadence(gen, rate_hz))
  rec["cadence_real"], rec["cadence_gen"] = cad_real, cad_gen
  if np.isfinite(cad_real) and np.isfinite(cad_gen) and cad_real > 0:
    rec["cadence_abs_err"] = abs(cad_gen - cad_real)
    rec["cadence_pct_err"] = 100.0 * abs(cad_gen - cad_real) / cad_real
  else:
    rec["cadence_abs_err"] = rec["cadence_pct_err"] = math.nan
    reasons["cadence"] = ("no cycles detected in the real target"
                          if not (np.isfinite(cad_real) and cad_real > 0)
                          else "no cycles detected in the generated sample")

  if bank is None:
    rr = RankResult(math.nan, 0, "no reference bank given")
  else:
    mc = cycles.mean_cycles(gen, rate_hz)
    rr = (RankResult(math.nan, 0, f"generated: {mc.reason}") if mc.reason
          else rank_from_mean(np.asarray(mc.mean, np.float64), str(subject),
                              float(v_tgt), bank))
  rec["rank"], rec["cohort_size"] = rr.rank, rr.cohort_size
  if rr.reason:
    reasons["rank"] = rr.reason
  rec["reasons"] = reasons
  return rec


def pair_records(real: np.ndarray, gen: np.ndarray,
                 meta: Mapping[str, Sequence], *,
                 rate_hz: float = constants.RATE_HZ,
                 bank: Optional[ReferenceBank] = None) -> List[Record]:
  """Per-pair records of N generated pairs.

  Args:
    real: [N, T, 6] real targets (degrees).
    gen: [N, T, 6] generated samples (degrees).
    meta: fields subject, v_src, v_tgt, cohort, paretic_side, each [N]
      (paretic_side '' or None for able-bodied).
    rate_hz: sampling rate.
    bank: ``build_reference_bank`` of the cohort's real data (for ranks).
  """
  real, gen = _as_pairs(real, gen)
  _check_meta(meta, real.shape[0])
  return [pair_record(real[i], gen[i], subject=meta["subject"][i],
                      v_src=meta["v_src"][i], v_tgt=meta["v_tgt"][i],
                      cohort=meta["cohort"][i],
                      paretic_side=meta["paretic_side"][i] or None,
                      rate_hz=rate_hz, bank=bank, index=i)
          for i in range(real.shape[0])]


# ----------------------------------------------------------------- summary
def _stats(values: Sequence[float]) -> Dict[str, float]:
  v = np.asarray(values, np.float64)
  fin = v[np.isfinite(v)]
  return {"mean": float(fin.mean()) if fin.size else math.nan,
          "sd": float(fin.std(ddof=1)) if fin.size > 1 else math.nan,
          "n": int(fin.size), "n_nan": int(v.size - fin.size)}


def metric_keys(records: Sequence[Record]) -> List[str]:
  """Numeric metric keys present in the records, in first-seen order."""
  keys = {}
  for rec in records:
    for k, v in rec.items():
      if k not in _META_KEYS and isinstance(v, (int, float, np.number)):
        keys[k] = None
  return list(keys)


def summarize(records: Sequence[Record]) -> Dict[str, Any]:
  """Means, SDs and counts of every metric, and why values are NaN.

  Returns:
    {'num_records', 'metrics': {key: {mean, sd, n, n_nan}},
     'nan_reasons': {metric group: {reason: count}},
     'headline': {mae, r, rank, rank_random, cohort_size, cadence_mae,
                  cadence_pct}}  (means; cadence_mae in steps/min, MAE in deg)
  """
  metrics = {k: _stats([rec.get(k, math.nan) for rec in records])
             for k in metric_keys(records)}
  reasons: Dict[str, collections.Counter] = collections.defaultdict(
      collections.Counter)
  for rec in records:
    for group, why in rec.get("reasons", {}).items():
      reasons[group][why] += 1

  def pick(key):
    return metrics[key]["mean"] if key in metrics else math.nan

  # Over the records whose rank is defined, like the rank's own mean (a
  # record without usable cycles compares 0 subjects and has no rank).
  ranked = [float(rec["cohort_size"]) for rec in records
            if np.isfinite(rec.get("rank", math.nan))
            and "cohort_size" in rec]
  headline = {"mae": pick("mae"), "r": pick("r"), "rank": pick("rank"),
              "rank_random": pick("rank_random"),
              "cohort_size": float(np.mean(ranked)) if ranked else math.nan,
              "cadence_mae": pick("cadence_abs_err"),
              "cadence_pct": pick("cadence_pct_err")}
  return {"num_records": len(records), "metrics": metrics,
          "nan_reasons": {g: dict(c) for g, c in reasons.items()},
          "headline": headline}
