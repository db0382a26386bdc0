"""Speed analyses over per-pair records (paper III.B-C, Figs. 5-7).

All functions take the records of ``gaitjax.eval.metrics.pair_records``
(dicts with at least subject, v_src, v_tgt and the value analysed) and return
plain numpy / dict results that ``figures`` draws and ``report`` writes.

Speed binning: able-bodied speeds lie on a 0.05 m/s grid and are used as they
are (rounded to 0.01 m/s only to merge float noise). Stroke self-selected
speeds are binned to the nearest multiple of ``STROKE_BIN_MPS`` = 0.15 m/s, so
the base speeds 0.3/0.6/0.9/1.2 are bin centres and e.g. 0.85 m/s lands in the
0.9 bin and 0.70 m/s in the 0.75 bin (paper Fig. 5: "stroke velocities are
binned"; the width is ours). Cells no pair falls into are NaN (white).

Stroke cadence (paper III.A/IV.A): the model is trained on 0.5-1.85 m/s and
the stroke cohort walks at 0.3-1.2 m/s, so the paper restricts the stroke
cadence analysis to target speeds in STROKE_CADENCE_BAND_MPS = (0.5, 1.2).
``cadence_errors`` reports both, all pairs and the band.
"""
import dataclasses
import itertools
import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from gaitjax.errors import DataError

Record = Dict[str, Any]

STROKE_BIN_MPS: float = 0.15
# Target speeds (inclusive) of the paper's stroke cadence analysis.
STROKE_CADENCE_BAND_MPS = (0.5, 1.2)
DV_BIN_MPS: float = 0.1
_ROUND = 6  # decimals that separate real speed differences from float noise


def bin_speed(v, width: Optional[float] = None) -> np.ndarray:
  """Speeds [..] -> bin centres: nearest multiple of width, or v rounded to
  0.01 m/s when width is None. Halves round up (0.075 -> 0.15 at width 0.15)."""
  v = np.asarray(v, np.float64)
  if width is None:
    return np.round(v, 2)
  return np.round(np.floor(v / width + 0.5 + 1e-9) * width, _ROUND)


def default_bin(cohort: str) -> Optional[float]:
  """The bin width used for a cohort's heatmaps (see module docstring)."""
  return STROKE_BIN_MPS if cohort == "stroke" else None


def _column(records: Sequence[Record], key: str) -> np.ndarray:
  missing = [i for i, r in enumerate(records) if key not in r]
  if missing:
    raise DataError(f"records: field {key!r} missing in record {missing[0]}")
  return np.asarray([r[key] for r in records], np.float64)


# ----------------------------------------------------------------- heatmaps
@dataclasses.dataclass(frozen=True)
class Heatmap:
  """Mean of a value per (source, target) speed cell.

  Attributes:
    src: [K] source speed bin centres (rows), ascending.
    tgt: [L] target speed bin centres (columns), ascending.
    mean: [K, L] mean value (NaN where no finite value fell in the cell).
    count: [K, L] number of finite values per cell.
    max: [K, L] largest value per cell (the paper quotes maxima).
  """
  src: np.ndarray
  tgt: np.ndarray
  mean: np.ndarray
  count: np.ndarray
  max: np.ndarray

  def to_dict(self) -> Dict[str, Any]:
    return {k: np.asarray(v).tolist() for k, v in dataclasses.asdict(self).items()}


def speed_pair_heatmap(records: Sequence[Record], value: str = "mae", *,
                       bin_width: Optional[float] = None) -> Heatmap:
  """Mean ``value`` (e.g. 'mae', 'rank') over (v_src, v_tgt) bins."""
  vals = _column(records, value)
  src = bin_speed(_column(records, "v_src"), bin_width)
  tgt = bin_speed(_column(records, "v_tgt"), bin_width)
  rows, cols = np.unique(src), np.unique(tgt)
  total = np.zeros((rows.size, cols.size))
  count = np.zeros((rows.size, cols.size), np.int64)
  vmax = np.full((rows.size, cols.size), -np.inf)
  ok = np.isfinite(vals)
  i = np.searchsorted(rows, src[ok])
  j = np.searchsorted(cols, tgt[ok])
  np.add.at(total, (i, j), vals[ok])
  np.add.at(count, (i, j), 1)
  np.maximum.at(vmax, (i, j), vals[ok])
  with np.errstate(invalid="ignore", divide="ignore"):
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
  return Heatmap(src=rows, tgt=cols, mean=mean, count=count,
                 max=np.where(count > 0, vmax, np.nan))


# ----------------------------------------------------------- grouped means
def grouped_stats(keys: np.ndarray, vals: np.ndarray) -> Dict[str, List[float]]:
  """Mean/SD/count of vals per distinct key (ascending); NaNs ignored."""
  out = {"key": [], "mean": [], "sd": [], "n": []}
  for k in np.unique(keys):
    v = vals[(keys == k) & np.isfinite(vals)]
    out["key"].append(float(k))
    out["mean"].append(float(v.mean()) if v.size else math.nan)
    out["sd"].append(float(v.std(ddof=1)) if v.size > 1 else math.nan)
    out["n"].append(int(v.size))
  return out


def per_source_speed(records: Sequence[Record], value: str = "mae", *,
                     bin_width: Optional[float] = None) -> Dict[str, List[float]]:
  """Mean ``value`` per source speed over all targets and subjects (Fig. 7a).

  Returns {'key': source speeds, 'mean', 'sd', 'n'}.
  """
  return grouped_stats(bin_speed(_column(records, "v_src"), bin_width),
                       _column(records, value))


def per_speed_difference(records: Sequence[Record], value: str = "mae", *,
                         width: float = DV_BIN_MPS) -> Dict[str, List[float]]:
  """Mean ``value`` per |v_tgt - v_src| bin (Fig. 7c).

  Bins are [k*width, (k+1)*width); 'key' holds each bin's lower edge, so
  identity pairs (dv = 0) fall in the first bin together with |dv| < width.
  """
  dv = np.abs(_column(records, "v_tgt") - _column(records, "v_src"))
  lower = np.round(np.floor(np.round(dv, _ROUND) / width + 1e-9) * width, _ROUND)
  return grouped_stats(lower, _column(records, value))


# ------------------------------------------------- number of source speeds
def closest_source(target: float, sources: Sequence[float]) -> float:
  """The source speed closest to target; equidistant ties go to the lower
  source speed (paper III.C). Distances are compared at 1e-6 m/s so that
  float noise (0.65 - 0.6 vs 0.6 - 0.55) does not break ties."""
  if len(sources) == 0:
    raise DataError("closest_source: no source speeds given")
  src = np.sort(np.asarray(sources, np.float64))
  dist = np.round(np.abs(src - float(target)), _ROUND)
  return float(src[int(np.argmin(dist))])   # argmin: first = lowest on ties


def _mae_table(records: Sequence[Record], value: str):
  """Per subject: (sources [K], targets [L], table [K, L] mean value)."""
  out = {}
  subjects = [str(r["subject"]) for r in records]
  vals = _column(records, value)
  v_src = bin_speed(_column(records, "v_src"))
  v_tgt = bin_speed(_column(records, "v_tgt"))
  for s in dict.fromkeys(subjects):
    m = np.asarray([x == s for x in subjects])
    hm_src, hm_tgt = np.unique(v_src[m]), np.unique(v_tgt[m])
    total = np.zeros((hm_src.size, hm_tgt.size))
    count = np.zeros_like(total)
    ok = m & np.isfinite(vals)
    np.add.at(total, (np.searchsorted(hm_src, v_src[ok]),
                      np.searchsorted(hm_tgt, v_tgt[ok])), vals[ok])
    np.add.at(count, (np.searchsorted(hm_src, v_src[ok]),
                      np.searchsorted(hm_tgt, v_tgt[ok])), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
      out[s] = (hm_src, hm_tgt, np.where(count > 0, total / count, np.nan))
  return out


def subset_means(sources: np.ndarray, targets: np.ndarray, table: np.ndarray,
                 size: int, *, max_subsets: Optional[int] = None,
                 seed: int = 0) -> np.ndarray:
  """Mean value over targets for every subset of ``size`` source speeds.

  Args:
    sources: [K] ascending source speeds of one subject.
    targets: [L] target speeds.
    table: [K, L] value of each (source, target) pair (NaN if missing).
    size: subset size x.
    max_subsets: if set and there are more subsets, a seeded random sample of
      this many is used (C(28, 4) = 20475 is fine; C(28, 14) is not).
  Returns:
    [C] per-subset mean over the targets (missing pairs skipped; subsets with
    no finite pair dropped).
  """
  k = sources.size
  if size > k:
    return np.zeros((0,))
  n_sub = math.comb(k, size)
  if max_subsets and n_sub > max_subsets:
    rng = np.random.default_rng(seed)
    subs = np.sort(np.stack([rng.choice(k, size, replace=False)
                             for _ in range(max_subsets)]), axis=1)
  else:
    subs = np.asarray(list(itertools.combinations(range(k), size)), np.int64)
  # [C, x, L] distances; subsets are ascending so argmin's first-hit picks
  # the lower speed on ties, as closest_source does.
  dist = np.round(np.abs(sources[subs][..., None] - targets[None, None]), _ROUND)
  chosen = np.take_along_axis(subs, np.argmin(dist, axis=1), axis=1)  # [C, L]
  vals = table[chosen, np.arange(targets.size)[None]]                  # [C, L]
  ok = np.isfinite(vals)
  with np.errstate(invalid="ignore", divide="ignore"):
    means = np.where(ok, vals, 0).sum(1) / ok.sum(1)
  return means[ok.any(1)]


def num_sources_analysis(records: Sequence[Record], value: str = "mae", *,
                         max_size: int = 4, max_subsets: Optional[int] = 50000,
                         seed: int = 0) -> Dict[str, List[float]]:
  """Value against the number of available source speeds (Fig. 7b).

  For each subject and subset size x, every subset of x of its source speeds
  is scored by mapping each target speed to the subset's closest source
  (``closest_source``) and averaging the pair values over the targets; the
  result per x is the mean (and SD) over all subsets of all subjects. Needs
  the records of all (src, tgt) pairs of each subject.

  Returns {'key': sizes 1..max_size, 'mean', 'sd', 'n' (subsets)}.
  """
  pooled = {x: [] for x in range(1, max_size + 1)}
  for src, tgt, table in _mae_table(records, value).values():
    for x in pooled:
      pooled[x].append(subset_means(src, tgt, table, x,
                                    max_subsets=max_subsets, seed=seed))
  out = {"key": [], "mean": [], "sd": [], "n": []}
  for x, parts in pooled.items():
    v = np.concatenate(parts) if parts else np.zeros((0,))
    out["key"].append(x)
    out["mean"].append(float(v.mean()) if v.size else math.nan)
    out["sd"].append(float(v.std(ddof=1)) if v.size > 1 else math.nan)
    out["n"].append(int(v.size))
  return out


# ---------------------------------------------------- representative cases
def representative_cases(records: Sequence[Record], value: str = "mae"
                         ) -> Dict[str, Any]:
  """Best / median / worst pairs of the median subject (Figs. 2-3).

  The median subject is the one whose mean ``value`` over its pairs is the
  median (lower middle for an even count); its pairs are sorted by value and
  the first, middle (lower middle) and last are returned.

  Returns {'subject', 'subject_mean', 'best', 'median', 'worst'}, the last
  three being positions into ``records``.
  """
  vals = _column(records, value)
  subjects = [str(r["subject"]) for r in records]
  by_subject = {}
  for i, s in enumerate(subjects):
    if np.isfinite(vals[i]):
      by_subject.setdefault(s, []).append(i)
  if not by_subject:
    raise DataError(f"records: no finite {value!r} to pick cases from")
  means = sorted((float(np.mean(vals[idx])), s) for s, idx in by_subject.items())
  subject_mean, subject = means[(len(means) - 1) // 2]
  idx = sorted(by_subject[subject], key=lambda i: vals[i])
  return {"subject": subject, "subject_mean": subject_mean,
          "best": idx[0], "median": idx[(len(idx) - 1) // 2], "worst": idx[-1]}


def cadence_by_target(records: Sequence[Record], *,
                      bin_width: Optional[float] = None) -> Dict[str, List[float]]:
  """Mean real and generated cadence per target speed (Fig. 4 points).

  Returns {'key': target speeds, 'real', 'gen', 'n'} (steps/min).
  """
  tgt = bin_speed(_column(records, "v_tgt"), bin_width)
  real = grouped_stats(tgt, _column(records, "cadence_real"))
  gen = grouped_stats(tgt, _column(records, "cadence_gen"))
  return {"key": real["key"], "real": real["mean"], "gen": gen["mean"],
          "n": gen["n"]}


def cadence_errors(records: Sequence[Record],
                   band: Optional[Sequence[float]] = None
                   ) -> Dict[str, float]:
  """Mean cadence error over pairs, optionally only targets inside ``band``.

  Args:
    records: with v_tgt, cadence_abs_err (steps/min), cadence_pct_err (%).
    band: (low, high) m/s, inclusive to 1 mm/s; None = all pairs.
  Returns:
    {'cadence_mae' (steps/min), 'cadence_pct' (%), 'n' (pairs with a
    finite error), 'band' ([low, high] or None)}; NaN means when n = 0.
  """
  abs_err = _column(records, "cadence_abs_err") if records else np.zeros(0)
  pct_err = _column(records, "cadence_pct_err") if records else np.zeros(0)
  keep = np.isfinite(abs_err) & np.isfinite(pct_err)
  if band is not None:
    low, high = (float(b) for b in band)
    v = np.round(_column(records, "v_tgt"), 3) if records else np.zeros(0)
    keep &= (v >= round(low, 3)) & (v <= round(high, 3))
  n = int(keep.sum())
  return {"cadence_mae": float(abs_err[keep].mean()) if n else math.nan,
          "cadence_pct": float(pct_err[keep].mean()) if n else math.nan,
          "n": n, "band": None if band is None else [float(b) for b in band]}


def cohort_analyses(records: Sequence[Record], cohort: str, *,
                    max_size: int = 4) -> Dict[str, Any]:
  """All analyses of one cohort's records, JSON-friendly."""
  width = default_bin(cohort)
  has_rank = any(np.isfinite(r.get("rank", math.nan)) for r in records)
  out = {
      "bin_width": width,
      "mae_heatmap": speed_pair_heatmap(records, "mae", bin_width=width).to_dict(),
      "per_source_speed": per_source_speed(records, bin_width=width),
      "per_speed_difference": per_speed_difference(records),
      "num_sources": num_sources_analysis(records, max_size=max_size),
      "cadence_by_target": cadence_by_target(records, bin_width=width),
  }
  if all("cadence_abs_err" in r and "cadence_pct_err" in r for r in records):
    out["cadence_error"] = cadence_errors(records)
    if cohort == "stroke":
      # Paper III.A: stroke cadence over target speeds 0.5-1.2 m/s only.
      out["cadence_error_band"] = cadence_errors(records,
                                                 STROKE_CADENCE_BAND_MPS)
  if has_rank:
    out["rank_heatmap"] = speed_pair_heatmap(records, "rank",
                                             bin_width=width).to_dict()
  try:
    out["representative_cases"] = representative_cases(records)
  except DataError as e:
    out["representative_cases"] = {"reason": str(e)}
  return out
