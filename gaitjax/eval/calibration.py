r"""Calibration of K-sample bands (issue 10, item 4) and |dv| breakdowns.

With K >= 2 samples per pair, each sample's mean normalised gait cycle
m_k [6, 101] is computed (``cycles.mean_cycles``: all its detected cycles),
and so is the real target's m [6, 101]. Per point, with the samples' mean
mbar and SD s (ddof = 1) across the K samples:

  coverage_<L>    fraction of the 606 points with
                  |m - mbar| <= t_{K-1}((1 + L) / 2) * s * sqrt(1 + 1/K)
  coverage_z_<L>  the same with the normal quantile and no sqrt(1 + 1/K):
                  |m - mbar| <= z((1 + L) / 2) * s   (the issue's "mean +-
                  1.96 SD" at L = 95)

for nominal levels L = 50, 80, 90, 95 %, averaged per cohort like every
other record field.

Why the t prediction interval is the primary number. If the real cycle and
the K samples were independent draws from one normal distribution, then
(m - mbar) / (s sqrt(1 + 1/K)) has Student's t distribution with K - 1
degrees of freedom, so the t interval covers exactly L of the time for any
K; the naive z interval ignores both the noise in s and the spread of mbar
around the truth and under-covers at small K even for a perfect generator
(95 % nominal: ~89 % at K = 8, ~82 % at K = 4, ~64 % at K = 2). So coverage_<L> measures the generator
and coverage_z_<L> mixes in the estimator's small-K bias (they converge as
K grows). Points where fewer than 2 samples have a finite mean cycle are
left out; a pair with no usable point is NaN with a reason.

Calibrating the bands (``coverage_cal_<L>``, ``band_scale``). A generator
whose samples are too alike under-covers at every level. One scale factor
s on the sample SD (band half-width s * t * SD * sqrt(1 + 1/K)) is chosen
to bring the four observed coverages closest to nominal (least squares over
the levels, pairs weighted equally). So that the reported calibrated
coverage is not fitted on the pairs it scores, each subject's pairs use the
s fitted on the OTHER subjects' pairs (leave-one-subject-out;
``loso_band_scales``); ``band_scale`` in the cohort summary is the s fitted
on all pairs, the factor to apply to this model's generated SD
(``gaitjax.generate`` reports the raw SD).

|dv| bins (``dv_bins``): 0 (identity pairs), (0, 0.1], (0.1, 0.5),
[0.5, 1.0), >= 1.0 m/s (|dv| rounded to 1 mm/s first).
"""
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from gaitjax import constants
from gaitjax.gait import cycles

LEVELS: Tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
DV_BINS: Tuple[str, ...] = ("0", "(0, 0.1]", "(0.1, 0.5)", "[0.5, 1.0)",
                            ">= 1.0")
NUM_POINTS = cycles.NUM_POINTS


def level_key(level: float, *, z: bool = False) -> str:
  """0.9 -> 'coverage_90' (or 'coverage_z_90')."""
  return f"coverage_{'z_' if z else ''}{int(round(100 * level))}"


def sample_mean_cycles(samples: np.ndarray, rate_hz: float) -> np.ndarray:
  """Mean normalised cycle of every sample.

  Args:
    samples: [..., K, T, 6] degrees.
    rate_hz: sampling rate.

  Returns:
    [..., K, 6, 101] float32 (NaN on a side without cycles).
  """
  samples = np.asarray(samples)
  if samples.ndim < 3 or samples.shape[-1] != constants.NUM_CHANNELS:
    raise ValueError(f"sample_mean_cycles: expected [..., K, T, 6], got "
                     f"{samples.shape}")
  flat = samples.reshape((-1,) + samples.shape[-2:])
  out = np.stack([cycles.mean_cycles(x, rate_hz).mean for x in flat])
  return out.reshape(samples.shape[:-2] + out.shape[1:]).astype(np.float32)


def half_widths(sd: np.ndarray, k: int, level: float, *, z: bool = False
                ) -> np.ndarray:
  """Half-width of the nominal ``level`` band from the SD over k samples."""
  q = (1.0 + level) / 2.0
  if z:
    return stats.norm.ppf(q) * sd
  return stats.t.ppf(q, df=k - 1) * sd * math.sqrt(1.0 + 1.0 / k)


def coverage(real_mean: np.ndarray, sample_means: np.ndarray,
             levels: Sequence[float] = LEVELS) -> Dict[str, float]:
  """Coverage of one pair (see the module docstring).

  Args:
    real_mean: [6, 101] real target's mean cycle.
    sample_means: [K, 6, 101] every sample's mean cycle (K >= 2).
    levels: nominal levels in (0, 1).

  Returns:
    {coverage_<L>, coverage_z_<L>} fractions in [0, 1]; NaN when no point
    has a finite real value and >= 2 finite samples.
  """
  real = np.asarray(real_mean, np.float64)
  s = np.asarray(sample_means, np.float64)
  if s.ndim != 3 or s.shape[1:] != real.shape:
    raise ValueError(f"coverage: sample_means must be [K, *{real.shape}], "
                     f"got {s.shape}")
  fin = np.isfinite(s)
  k = fin.sum(axis=0)
  use = np.isfinite(real) & (k >= 2)
  out: Dict[str, float] = {}
  if not use.any():
    for lv in levels:
      out[level_key(lv)] = out[level_key(lv, z=True)] = math.nan
    return out
  kk = k[use]                                           # [U]
  vals = np.where(fin, s, np.nan)[:, use]               # [K, U]
  mean = np.nanmean(vals, axis=0)
  sd = np.nanstd(vals, axis=0, ddof=1)
  err = np.abs(real[use] - mean)
  for lv in levels:
    for z in (False, True):
      hw = np.empty_like(sd)
      for n in np.unique(kk):       # K per point can differ (a sample
        sel = kk == n               # without cycles on one side)
        hw[sel] = half_widths(sd[sel], int(n), lv, z=z)
      out[level_key(lv, z=z)] = float(np.mean(err <= hw))
  return out


def normalised_errors(real_mean: np.ndarray, sample_means: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
  """Per usable point: |m - mbar| / (s sqrt(1 + 1/K)) and K.

  Args:
    real_mean: [6, 101]. sample_means: [K, 6, 101] (as ``coverage``).

  Returns:
    (u [U], k [U]): U = points with a finite real value and >= 2 finite
    samples; a point is inside the scaled t band at level L iff
    u <= scale * t_{k-1}((1 + L) / 2).
  """
  real = np.asarray(real_mean, np.float64)
  s = np.asarray(sample_means, np.float64)
  fin = np.isfinite(s)
  k = fin.sum(axis=0)
  use = np.isfinite(real) & (k >= 2)
  if not use.any():
    return np.zeros(0), np.zeros(0, np.int64)
  vals = np.where(fin, s, np.nan)[:, use]
  sd = np.nanstd(vals, axis=0, ddof=1)
  kk = k[use]
  err = np.abs(real[use] - np.nanmean(vals, axis=0))
  with np.errstate(divide="ignore", invalid="ignore"):
    u = np.where(err == 0, 0.0, err / (sd * np.sqrt(1.0 + 1.0 / kk)))
  return u, kk.astype(np.int64)


def scaled_coverage(u: np.ndarray, k: np.ndarray, scale: float,
                    levels: Sequence[float] = LEVELS) -> np.ndarray:
  """[L] fraction of points inside the t band widened by ``scale``."""
  if u.size == 0:
    return np.full(len(levels), math.nan)
  return np.array([np.mean(u <= scale * stats.t.ppf((1 + lv) / 2, df=k - 1))
                   for lv in levels])


_SCALES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 241))


def fit_band_scale(us: Sequence[np.ndarray], ks: Sequence[np.ndarray],
                   levels: Sequence[float] = LEVELS) -> float:
  """The SD scale whose mean coverage over the pairs (us[i], ks[i]) is
  closest to nominal (least squares over ``levels``); NaN without pairs."""
  pairs = [(u, k) for u, k in zip(us, ks) if u.size]
  if not pairs:
    return math.nan
  # t quantiles per pair once; coverage for every scale by broadcasting.
  target = np.asarray(levels, np.float64)
  cov = np.zeros((_SCALES.size, target.size))
  for u, k in pairs:
    q = np.stack([stats.t.ppf((1 + lv) / 2, df=k - 1) for lv in levels])
    ratio = u[None, :] / q                                   # [L, U]
    cov += np.mean(ratio[None] <= _SCALES[:, None, None], axis=2)
  cov /= len(pairs)
  return float(_SCALES[int(np.argmin(np.sum((cov - target) ** 2, axis=1)))])


def loso_band_scales(us: Sequence[np.ndarray], ks: Sequence[np.ndarray],
                     groups: Sequence[str],
                     levels: Sequence[float] = LEVELS) -> np.ndarray:
  """[N] per pair: the scale fitted on the pairs of every other group
  (subject); NaN with fewer than two groups."""
  groups = np.asarray([str(g) for g in groups])
  out = np.full(len(groups), math.nan)
  names = np.unique(groups)
  if names.size < 2:
    return out
  for g in names:
    rest = np.flatnonzero(groups != g)
    out[groups == g] = fit_band_scale([us[i] for i in rest],
                                      [ks[i] for i in rest], levels)
  return out


def calibrated_fields(us: Sequence[np.ndarray], ks: Sequence[np.ndarray],
                      groups: Sequence[str],
                      levels: Sequence[float] = LEVELS
                      ) -> List[Dict[str, float]]:
  """Per pair {coverage_cal_<L>, band_scale} with the leave-one-subject-out
  scale (see the module docstring)."""
  scales = loso_band_scales(us, ks, groups, levels)
  out = []
  for u, k, sc in zip(us, ks, scales):
    cov = (scaled_coverage(u, k, sc, levels) if np.isfinite(sc)
           else np.full(len(levels), math.nan))
    rec = {f"coverage_cal_{int(round(100 * lv))}": float(c)
           for lv, c in zip(levels, cov)}
    rec["band_scale"] = float(sc)
    out.append(rec)
  return out


def pair_fields(real: np.ndarray, sample_means: np.ndarray, *,
                rate_hz: float, levels: Sequence[float] = LEVELS
                ) -> Tuple[Dict[str, float], Optional[str]]:
  """Coverage record fields of one pair and a NaN reason (or None).

  Args:
    real: [T, 6] real target (degrees).
    sample_means: [K, 6, 101] (``sample_mean_cycles`` of the K samples).
  """
  mc = cycles.mean_cycles(np.asarray(real, np.float64), rate_hz)
  out = coverage(mc.mean, sample_means, levels)
  if any(not np.isfinite(v) for v in out.values()):
    return out, ("no cycle point with a real value and >= 2 samples with "
                 "cycles" + (f" (real: {mc.reason})" if mc.reason else ""))
  return out, None


def reliability(records: Sequence[Mapping[str, Any]],
                levels: Sequence[float] = LEVELS
                ) -> Optional[Dict[str, List[float]]]:
  """Mean observed coverage per nominal level over records (None if the
  records have no coverage fields).

  Returns:
    {'nominal': [L], 'observed': [L] (t interval), 'observed_z': [L],
     'n': pairs used}.
  """
  if not any(level_key(levels[0]) in r for r in records):
    return None
  obs, obs_z, n = [], [], 0
  for lv in levels:
    v = np.array([r.get(level_key(lv), math.nan) for r in records], float)
    vz = np.array([r.get(level_key(lv, z=True), math.nan) for r in records],
                  float)
    obs.append(float(np.nanmean(v)) if np.isfinite(v).any() else math.nan)
    obs_z.append(float(np.nanmean(vz)) if np.isfinite(vz).any()
                 else math.nan)
    n = int(np.isfinite(v).sum())
  out = {"nominal": [float(lv) for lv in levels], "observed": obs,
         "observed_z": obs_z, "n": n}
  cal_keys = [f"coverage_cal_{int(round(100 * lv))}" for lv in levels]
  if any(cal_keys[0] in r for r in records):
    cal = [np.array([r.get(key, math.nan) for r in records], float)
           for key in cal_keys]
    out["observed_cal"] = [float(np.nanmean(v)) if np.isfinite(v).any()
                           else math.nan for v in cal]
  return out


def curves(results: Mapping[str, Mapping[str, Any]]
           ) -> Dict[str, Dict[str, List[float]]]:
  """'model / cohort' -> ``reliability`` for every results entry with
  coverage fields (results: model -> cohort -> records or {'records'})."""
  out = {}
  for model, by in results.items():
    for cohort, entry in by.items():
      recs = entry["records"] if isinstance(entry, Mapping) else entry
      rel = reliability(recs)
      if rel is not None:
        out[f"{model} / {cohort}"] = rel
  return out


# ------------------------------------------------------------ |dv| bins
def dv_bin(v_src: float, v_tgt: float) -> str:
  """The DV_BINS label of a pair."""
  dv = round(abs(float(v_tgt) - float(v_src)), 3)
  if dv == 0.0:
    return DV_BINS[0]
  if dv <= 0.1:
    return DV_BINS[1]
  if dv < 0.5:
    return DV_BINS[2]
  if dv < 1.0:
    return DV_BINS[3]
  return DV_BINS[4]


def dv_bins(records: Sequence[Mapping[str, Any]], value: str = "mae"
            ) -> Dict[str, Dict[str, float]]:
  """Mean ``value`` per |dv| bin: {bin: {'mean', 'n', 'n_nan'}} (every bin
  listed; mean NaN where empty)."""
  groups: Dict[str, List[float]] = {b: [] for b in DV_BINS}
  for r in records:
    groups[dv_bin(r["v_src"], r["v_tgt"])].append(
        float(r.get(value, math.nan)))
  out = {}
  for b, vals in groups.items():
    v = np.asarray(vals, float)
    fin = v[np.isfinite(v)]
    out[b] = {"mean": float(fin.mean()) if fin.size else math.nan,
              "n": int(fin.size), "n_nan": int(v.size - fin.size)}
  return out
