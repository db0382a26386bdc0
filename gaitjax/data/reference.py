"""Residual references: what the model's residual is measured from.

The model generates r = x_tgt - x_ref. The paper uses x_ref = x_src, but the
source and target are separate recordings with unrelated phase and cadence,
so that residual contains the (negated) source gait itself. A reference whose
cycles line up with the target's makes r small and aligned. Kinds:

* ``'source'``: x_src (the paper).
* ``'warped'``: x_src time-warped cycle by cycle so that its cycles repeat at
  the expected target cadence; source cycles are reused (looped at cycle
  boundaries, i.e. at the same gait phase) when the target needs more cycles.
* ``'template'``: the subject's mean source cycle plus the population change
  of the mean cycle between the two speeds, tiled at the expected cadence.
* ``'regression'``: the mean cycle and cadence that ``cycle_regression``
  (gaitjax.data.regression, fitted on the training population) predicts
  from the source's mean cycle, cadence and the two speeds, tiled like the
  template. The residual then holds only what that regression cannot
  predict; the ``template`` argument is the CycleRegression (it also
  answers TemplateModel's questions).

Timing. At inference the reference keeps each leg's phase at t = 0 from the
source and advances at the expected target cadence (source cadence x the
population cadence ratio), so the generated gait has that cadence. With
``x_tgt`` / ``tgt_info`` given, each leg's cycle boundaries are taken from
the target's detected cycles instead, so r holds only shape differences and
the reference's detected boundaries coincide with x_tgt's. Which of the two
training and validation use is ``config.data.reference_timing``
(pipeline.reference_timing): 'target' (the default; it measured better on
CPU, see the README's "Reproducing the paper") or 'inference'.

Fallbacks never raise: 'regression' needs a CycleRegression and cycles on
both source hips, else it becomes 'template';
'template' needs a TemplateModel and cycles on both
source hips, else it becomes 'warped'; 'warped' needs cycles on both source
hips and a timing (target cycles, or a TemplateModel for the expected
cadence), else it becomes 'source'. A target whose cycles cannot be detected
does not change the kind: the inference timing is used instead (when a
TemplateModel is there), which keeps training references distributed like
inference ones. ``effective_kind`` says which kind a call resolves to.

The input pipeline should detect cycles once per trial (``precompute_cycles``)
and build each pair's reference with ``make_reference_from_info``.
"""
import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from gaitjax import constants
from gaitjax.errors import CheckpointError, ConfigError, DataError
from gaitjax.gait import cycles

KINDS = ("source", "warped", "template", "regression")
NUM_POINTS = cycles.NUM_POINTS
# Cadence floor (steps/min) for extrapolated population cadences: keeps cycle
# lengths finite far outside the fitted speed range.
_MIN_CADENCE = 20.0
_SPEED_DECIMALS = 3          # speeds closer than 1 mm/s are one speed

PhaseSpec = Mapping[str, Union[float, np.ndarray]]


# ------------------------------------------------------- per-trial cycle info


@dataclasses.dataclass(frozen=True)
class SubjectCycleInfo:
  """Cycle facts of one trial, computed once and reused for every pair.

  Attributes:
    boundaries: {'right': [N_r+1], 'left': [N_l+1]} float sample positions of
      the cycle boundaries (``cycles.exact_boundaries``).
    mean: [6, 101] mean normalised cycle (NaN on a side without cycles).
    cadence: steps/min averaged over the hips (NaN if undetectable).
    num_samples: T of the trial.
  """
  boundaries: Dict[str, np.ndarray]
  mean: np.ndarray
  cadence: float
  num_samples: int

  def has_cycles(self) -> bool:
    """True when both hips have at least one complete cycle."""
    return all(self.boundaries[s].size >= 2 for s in constants.SIDES)


def cycle_info(x: np.ndarray, rate_hz: float = constants.RATE_HZ
               ) -> SubjectCycleInfo:
  """Detects the cycles of one trial.

  Args:
    x: [T, 6] joint angles (degrees).
    rate_hz: sampling rate.

  Returns:
    SubjectCycleInfo.
  """
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2 or x.shape[1] != constants.NUM_CHANNELS:
    raise ValueError(f"cycle_info: expected [T, 6], got {x.shape}")
  bounds, mean, cads = {}, np.full((6, NUM_POINTS), np.nan), []
  for side in constants.SIDES:
    chans = list(constants.SIDE_CHANNELS[side])
    peaks = cycles.extension_peaks(x[:, chans[0]], rate_hz)
    b = cycles.boundaries_from_peaks(peaks, x.shape[0])
    bounds[side] = b
    if peaks.size >= 2:
      cads.append(120.0 * rate_hz * (peaks.size - 1) / (peaks[-1] - peaks[0]))
    if b.size >= 2:
      pairs = np.stack([b[:-1], b[1:]], axis=1)
      mean[chans] = cycles.side_cycles(x, pairs, side).mean(axis=0).T
  cad = float(np.mean(cads)) if cads else float("nan")
  return SubjectCycleInfo(bounds, mean, cad, int(x.shape[0]))


def precompute_cycles(x: np.ndarray, rate_hz: float = constants.RATE_HZ
                      ) -> List[SubjectCycleInfo]:
  """``cycle_info`` of every trial. x: [N, T, 6] -> list of N infos."""
  return [cycle_info(xi, rate_hz) for xi in np.asarray(x)]


# -------------------------------------------------------------- the template


def _fit_cadence(speeds: np.ndarray, cad: np.ndarray) -> np.ndarray:
  """Least-squares polynomial cadence(speed): quadratic with >= 3 speeds."""
  deg = min(2, speeds.size - 1)
  if deg == 0:
    return np.array([float(cad[0])])
  return np.polyfit(speeds, cad, deg)


# Relative penalties of the speed curve's curvature tried by cross-validation
# (0: no smoothing beyond what identifies the curve).
CURVE_PENALTIES: Tuple[float, ...] = (0.0,) + tuple(
    float(a) for a in np.logspace(-4, 6, 11))
_CURVE_RIDGE = 1e-9          # identifies the curve's free constant only


def _speed_curve(subject: np.ndarray, speed: np.ndarray, values: np.ndarray,
                 speeds: np.ndarray) -> np.ndarray:
  """Population curve of ``values`` over speed, from within-subject change.

  values [M, P] holds one observation per (subject, speed) (subject [M],
  speed [M]); returns [S, P] at ``speeds`` [S] (the distinct speeds).

  A plain mean over the subjects at each speed mixes who walked at that
  speed into how gait changes with speed: real people each walk at their
  own speeds, so neighbouring speeds hold different people and their level
  differences become a spurious speed change. Here y = a_subject + g(speed)
  (a subject's own level; g sampled at the distinct speeds, with a
  curvature penalty that links speeds no subject shares), fitted on
  within-subject deviations; the curve's level is the mean subject level.
  When every subject walked at every speed the penalty-free fit is the
  per-speed mean exactly. The penalty per column group (cycle columns,
  then the last column: cadence) is chosen by leave-one-subject-out error
  on each held-out subject's own changes (5 subject folds above 20
  subjects). Without any subject at >= 2 speeds it is the per-speed mean.
  """
  subjects, subj_idx = np.unique(subject, return_inverse=True)
  k_idx = np.searchsorted(speeds, speed)
  num_k = speeds.size
  per_speed_mean = np.stack([values[speed == v].mean(axis=0)
                             for v in speeds])
  counts = np.bincount(subj_idx, minlength=subjects.size)
  if num_k < 2 or not np.any(counts >= 2):
    return per_speed_mean
  basis = np.eye(num_k)[k_idx]                                # [M, K]

  def demean(a):
    sums = np.zeros((subjects.size,) + a.shape[1:])
    np.add.at(sums, subj_idx, a)
    return a - (sums / counts.reshape((-1,) + (1,) * (a.ndim - 1)))[subj_idx]

  basis_w, values_w = demean(basis), demean(values)
  curv = np.zeros((max(num_k - 2, 0), num_k))
  for r in range(num_k - 2):
    h0, h1 = speeds[r + 1] - speeds[r], speeds[r + 2] - speeds[r + 1]
    scale = 2.0 / (h0 + h1)
    curv[r, r:r + 3] = scale * np.array([1.0 / h0, -1.0 / h0 - 1.0 / h1,
                                         1.0 / h1])
  pen = curv.T @ curv
  unit = np.trace(basis_w.T @ basis_w) / max(np.trace(pen), 1e-12)

  def solve(rows, lam):
    gram = basis_w[rows].T @ basis_w[rows] + lam * unit * pen
    gram += _CURVE_RIDGE * np.trace(gram) / num_k * np.eye(num_k)
    return np.linalg.solve(gram, basis_w[rows].T @ values_w[rows])

  # Column groups with a penalty each: the cycle points, then cadence.
  num_cols = values.shape[1]
  groups = ([np.arange(num_cols - 1), np.array([num_cols - 1])]
            if num_cols > 1 else [np.arange(num_cols)])
  best = [0.0] * len(groups)
  multi = np.flatnonzero(counts >= 2)
  if multi.size >= 2:
    folds = (multi if subjects.size <= 20 else
             np.array_split(np.random.default_rng(0).permutation(multi), 5))
    errors = np.zeros((len(CURVE_PENALTIES), len(groups)))
    for held in folds:
      test = np.isin(subj_idx, np.atleast_1d(held))
      for j, lam in enumerate(CURVE_PENALTIES):
        sq = np.square(values_w[test] - basis_w[test] @ solve(~test, lam))
        errors[j] += [sq[:, g].sum() for g in groups]
    best = [CURVE_PENALTIES[int(np.argmin(errors[:, i]))]
            for i in range(len(groups))]
  everyone = np.ones(len(speed), bool)
  curve = np.empty((num_k, num_cols))
  for g, lam in zip(groups, best):
    curve[:, g] = solve(everyone, lam)[:, g]
  level = np.stack([(values - curve[k_idx])[subj_idx == i].mean(axis=0)
                    for i in range(subjects.size)]).mean(axis=0)
  return level + curve


@dataclasses.dataclass(frozen=True)
class TemplateModel:
  """Population mean cycles and cadence as functions of walking speed.

  Attributes:
    speeds: [S] distinct training speeds (m/s), increasing.
    cycles: [S, 6, 101] population mean cycle per speed: the mean subject
      level plus a speed curve fitted on within-subject changes
      (``_speed_curve``; the plain mean over subjects when every subject
      walked at every speed and cross-validation picks no smoothing).
    cadence: [S] population cadence per speed (steps/min), fitted the same
      way.
    cadence_fit: polynomial coefficients (highest power first) of the smooth
      cadence(speed) fit: quadratic with >= 3 speeds, linear with 2.
    num_subjects: [S] subjects that contributed to each speed.
    rate_hz: sampling rate the model was fitted at.
  """
  speeds: np.ndarray
  cycles: np.ndarray
  cadence: np.ndarray
  cadence_fit: np.ndarray
  num_subjects: np.ndarray
  rate_hz: float = constants.RATE_HZ

  @classmethod
  def fit(cls, x: Any, speed: Optional[np.ndarray] = None,
          rate_hz: float = constants.RATE_HZ,
          subject: Optional[Sequence[Any]] = None,
          infos: Optional[Sequence[SubjectCycleInfo]] = None
          ) -> "TemplateModel":
    """Fits the population model on training trials.

    Args:
      x: [N, T, 6] degrees, or a TrialSet (its .x, .speed, .subject are used
        and ``speed``/``subject`` must be None).
      speed: [N] m/s.
      rate_hz: sampling rate of x.
      subject: [N] subject ids (None: every trial is its own subject).
      infos: precomputed ``cycle_info`` of each trial (saves detection).

    Returns:
      TemplateModel.

    Raises:
      DataError: no trial has detectable cycles on both hips.
    """
    if hasattr(x, "x") and hasattr(x, "speed"):
      x, speed, subject = x.x, x.speed, x.subject
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != constants.NUM_CHANNELS:
      raise ValueError(f"TemplateModel.fit: x must be [N, T, 6], got"
                       f" {x.shape}")
    speed = np.round(np.asarray(speed, dtype=np.float64).reshape(-1),
                     _SPEED_DECIMALS)
    if speed.shape[0] != x.shape[0]:
      raise ValueError(f"TemplateModel.fit: {x.shape[0]} trials but"
                       f" {speed.shape[0]} speeds")
    if subject is None:
      subject = np.arange(x.shape[0])
    subject = np.asarray(subject)
    if infos is None:
      infos = precompute_cycles(x, rate_hz)
    usable = np.array([np.all(np.isfinite(i.mean)) and np.isfinite(i.cadence)
                       for i in infos], bool)
    if not usable.any():
      raise DataError("TemplateModel.fit: no training trial has detectable"
                      " gait cycles on both hips")
    means = np.stack([i.mean for i in infos])
    cads = np.array([i.cadence for i in infos])
    # One observation per (subject, speed): the mean of its trials there.
    obs_s, obs_v, obs_c, obs_k = [], [], [], []
    for s in np.unique(subject[usable]):
      for v in np.unique(speed[usable & (subject == s)]):
        m = usable & (subject == s) & (speed == v)
        obs_s.append(s)
        obs_v.append(v)
        obs_c.append(means[m].mean(axis=0))
        obs_k.append(cads[m].mean())
    obs_s, obs_v = np.asarray(obs_s), np.asarray(obs_v)
    speeds = np.unique(obs_v)
    out_n = np.array([np.unique(obs_s[obs_v == v]).size for v in speeds],
                     np.int64)
    values = np.concatenate([np.stack(obs_c).reshape(len(obs_v), -1),
                             np.asarray(obs_k)[:, None]], axis=1)
    per_speed = _speed_curve(obs_s, obs_v, values, speeds)
    cyc = per_speed[:, :-1].reshape((speeds.size,) + means.shape[1:])
    cad = per_speed[:, -1]
    return cls(speeds=speeds, cycles=cyc, cadence=cad,
               cadence_fit=_fit_cadence(speeds, cad),
               num_subjects=out_n, rate_hz=float(rate_hz))

  def population_cycle(self, speed: float) -> np.ndarray:
    """[6, 101] mean cycle at ``speed``: linear between fitted speeds,
    clamped to the nearest fitted speed outside their range."""
    v = float(speed)
    s = self.speeds
    if s.size == 1 or v <= s[0]:
      return self.cycles[0].copy()
    if v >= s[-1]:
      return self.cycles[-1].copy()
    j = int(np.searchsorted(s, v, side="right"))
    w = (v - s[j - 1]) / (s[j] - s[j - 1])
    return (1.0 - w) * self.cycles[j - 1] + w * self.cycles[j]

  def population_cadence(self, speed: float) -> float:
    """Cadence (steps/min) at ``speed`` from the smooth fit; outside the
    fitted range the fit continues linearly with its slope at the edge."""
    v = float(speed)
    lo, hi = float(self.speeds[0]), float(self.speeds[-1])
    edge = min(max(v, lo), hi)
    value = float(np.polyval(self.cadence_fit, edge))
    if v != edge:
      slope = float(np.polyval(np.polyder(self.cadence_fit), edge)) \
          if self.cadence_fit.size > 1 else 0.0
      value += slope * (v - edge)
    return max(value, _MIN_CADENCE)

  def to_dict(self) -> Dict[str, Any]:
    """JSON-safe dict (plain lists and floats)."""
    return {
        "version": 1,
        "rate_hz": float(self.rate_hz),
        "speeds": [float(v) for v in self.speeds],
        "cycles": np.asarray(self.cycles, np.float64).tolist(),
        "cadence": [float(c) for c in self.cadence],
        "cadence_fit": [float(c) for c in self.cadence_fit],
        "num_subjects": [int(n) for n in self.num_subjects],
    }

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "TemplateModel":
    """Inverse of ``to_dict``; CheckpointError on a malformed dict."""
    where = "template model"
    for key in ("speeds", "cycles", "cadence", "cadence_fit", "num_subjects"):
      if key not in d:
        raise CheckpointError(f"{where}: field {key!r} missing")
    try:
      speeds = np.asarray(d["speeds"], np.float64)
      cyc = np.asarray(d["cycles"], np.float64)
      cad = np.asarray(d["cadence"], np.float64)
      fit = np.asarray(d["cadence_fit"], np.float64)
      num = np.asarray(d["num_subjects"], np.int64)
    except (TypeError, ValueError) as e:
      raise CheckpointError(f"{where}: non-numeric field ({e})") from None
    s = speeds.shape[0] if speeds.ndim == 1 else -1
    if (s < 1 or cyc.shape != (s, constants.NUM_CHANNELS, NUM_POINTS)
        or cad.shape != (s,) or num.shape != (s,) or fit.ndim != 1
        or not 1 <= fit.size <= 3):
      raise CheckpointError(
          f"{where}: expected speeds [S>=1], cycles [S, 6, {NUM_POINTS}],"
          f" cadence [S], num_subjects [S], cadence_fit [1..3]; got"
          f" {speeds.shape}, {cyc.shape}, {cad.shape}, {num.shape},"
          f" {fit.shape}")
    if np.any(np.diff(speeds) <= 0) or not np.all(np.isfinite(cyc)):
      raise CheckpointError(f"{where}: speeds must increase and cycles be"
                            " finite")
    return cls(speeds=speeds, cycles=cyc, cadence=cad, cadence_fit=fit,
               num_subjects=num,
               rate_hz=float(d.get("rate_hz", constants.RATE_HZ)))


def expected_cadence(source_cadence: float, v_src: float, v_tgt: float,
                     template: TemplateModel) -> float:
  """Source cadence x population cadence(v_tgt) / cadence(v_src)."""
  return float(source_cadence * template.population_cadence(v_tgt) /
               template.population_cadence(v_src))


# ---------------------------------------------------------------- phase maths


def _phase_at(b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Cycle phase (cycles; integers at boundaries) at sample times t.

  Piecewise linear between boundaries b [N+1], linear with the mean cycle
  length outside them.
  """
  n = b.size - 1
  mean_len = (b[-1] - b[0]) / n
  ph = np.interp(t, b, np.arange(n + 1, dtype=np.float64))
  ph = np.where(t < b[0], (t - b[0]) / mean_len, ph)
  return np.where(t > b[-1], n + (t - b[-1]) / mean_len, ph)


def _time_at(b: np.ndarray, ph: np.ndarray) -> np.ndarray:
  """Inverse of ``_phase_at``: sample time of phase ph."""
  n = b.size - 1
  mean_len = (b[-1] - b[0]) / n
  t = np.interp(ph, np.arange(n + 1, dtype=np.float64), b)
  t = np.where(ph < 0, b[0] + ph * mean_len, t)
  return np.where(ph > n, b[-1] + (ph - n) * mean_len, t)


def _phase_track(spec: Union[float, np.ndarray], cadence_spm: float,
                 num_samples: int, rate_hz: float) -> np.ndarray:
  """[T] phase of one leg: from boundaries, or phase0 + t / cycle length."""
  t = np.arange(num_samples, dtype=np.float64)
  if np.ndim(spec) == 0:
    cycle_len = 120.0 / cadence_spm * rate_hz
    return float(spec) + t / cycle_len
  b = np.asarray(spec, dtype=np.float64)
  if b.size < 2:
    raise ValueError("phase boundaries need at least 2 entries")
  return _phase_at(b, t)


def _close_cycle(c: np.ndarray) -> np.ndarray:
  """[C, 101] -> same with end == start: the 0 % / 100 % mismatch of a mean
  cycle is spread linearly so a tiled cycle has no jump at boundaries."""
  drift = c[:, -1:] - c[:, :1]
  frac = np.linspace(0.0, 1.0, c.shape[1])[None, :]
  return c - drift * (frac - 0.5)


def _sample_cycle(c: np.ndarray, phase: np.ndarray) -> np.ndarray:
  """c: [C, 101] closed cycle, phase: [T] -> [T, C] (periodic)."""
  pos = (phase - np.floor(phase)) * (c.shape[1] - 1)
  i0 = np.minimum(pos.astype(np.int64), c.shape[1] - 2)
  w = pos - i0
  return (c[:, i0] * (1.0 - w) + c[:, i0 + 1] * w).T


def _sample_series(x: np.ndarray, s: np.ndarray) -> np.ndarray:
  """x: [T_src, C] at fractional sample positions s [T] -> [T, C]."""
  s = np.clip(s, 0.0, x.shape[0] - 1)
  i0 = np.minimum(s.astype(np.int64), x.shape[0] - 2)
  w = (s - i0)[:, None]
  return x[i0] * (1.0 - w) + x[i0 + 1] * w


def synthesize_from_cycles(mean_cycles: np.ndarray, cadence_spm: float,
                           num_samples: int, rate_hz: float,
                           phase_start: PhaseSpec) -> np.ndarray:
  """Tiles a mean cycle per leg.

  Args:
    mean_cycles: [6, 101] one cycle per channel (0 % = cycle boundary).
    cadence_spm: steps/min (one cycle lasts 120 / cadence s).
    num_samples: T of the output.
    rate_hz: output sampling rate.
    phase_start: per side ('right', 'left') either the phase at t = 0 in
      cycles (its fraction is the position in the cycle) or an array [N+1]
      of cycle boundaries (sample positions) whose timing is followed
      instead of ``cadence_spm``.

  Returns:
    [T, 6].
  """
  mean_cycles = np.asarray(mean_cycles, dtype=np.float64)
  if mean_cycles.shape != (constants.NUM_CHANNELS, NUM_POINTS):
    raise ValueError(f"synthesize_from_cycles: mean_cycles must be [6,"
                     f" {NUM_POINTS}], got {mean_cycles.shape}")
  out = np.empty((num_samples, constants.NUM_CHANNELS))
  for side in constants.SIDES:
    chans = list(constants.SIDE_CHANNELS[side])
    phase = _phase_track(phase_start[side], cadence_spm, num_samples, rate_hz)
    out[:, chans] = _sample_cycle(_close_cycle(mean_cycles[chans]), phase)
  return out


def _warp_series(x_src: np.ndarray, b_src: np.ndarray,
                 phase: np.ndarray) -> np.ndarray:
  """Source samples at the gait phases ``phase`` [T] -> source positions [T].

  Inside the recording the source's own cycles are followed (phase -> time
  through its boundaries); beyond it the complete cycles are looped, which
  joins samples at equal gait phase.
  """
  s = _time_at(b_src, phase)
  outside = (s < 0.0) | (s > x_src.shape[0] - 1)
  if np.any(outside):
    n = b_src.size - 1
    k = np.floor(phase[outside])
    frac = phase[outside] - k
    k = np.mod(k, n).astype(np.int64)
    s[outside] = b_src[k] + frac * (b_src[k + 1] - b_src[k])
  return s


# ----------------------------------------------------------- the references


def _check_kind(kind: str) -> None:
  if kind not in KINDS:
    raise ConfigError(f"data.reference: expected one of {KINDS}, got"
                      f" {kind!r}")


def _uses_target_timing(tgt_info: Optional[SubjectCycleInfo]) -> bool:
  return tgt_info is not None and tgt_info.has_cycles()


def effective_kind(kind: str, src_info: Optional[SubjectCycleInfo],
                   template: Optional[TemplateModel],
                   tgt_info: Optional[SubjectCycleInfo] = None) -> str:
  """The kind ``make_reference_from_info`` actually builds (fallbacks)."""
  _check_kind(kind)
  src_ok = (src_info is not None and src_info.has_cycles()
            and np.isfinite(src_info.cadence))
  timing_ok = _uses_target_timing(tgt_info) or template is not None
  if kind == "regression" and not (
      src_ok and hasattr(template, "predict_cycles")
      and np.all(np.isfinite(src_info.mean))):
    kind = "template"
  if kind == "template" and not (
      src_ok and template is not None and np.all(np.isfinite(src_info.mean))):
    kind = "warped"
  if kind == "warped" and not (src_ok and timing_ok):
    kind = "source"
  return kind


def make_reference_from_info(kind: str, x_src: np.ndarray,
                             src_info: Optional[SubjectCycleInfo],
                             v_src: float, v_tgt: float,
                             template: Optional[TemplateModel], *,
                             tgt_info: Optional[SubjectCycleInfo] = None,
                             rate_hz: float = constants.RATE_HZ,
                             num_samples: Optional[int] = None) -> np.ndarray:
  """Builds a reference from precomputed cycle info (the pipeline's path).

  Args:
    kind: 'source' | 'warped' | 'template' | 'regression'.
    x_src: [T_src, 6] source trial (degrees).
    src_info: ``cycle_info(x_src)`` (may be None for 'source').
    v_src, v_tgt: speeds (m/s).
    template: fitted TemplateModel (None allowed; see fallbacks).
    tgt_info: ``cycle_info(x_tgt)`` in training: cycle timing follows x_tgt.
    rate_hz: sampling rate.
    num_samples: output T; default tgt_info.num_samples, else T_src.

  Returns:
    [T, 6] in x_src's dtype ('source' returns x_src itself, not a copy, when
    T == T_src).
  """
  kind = effective_kind(kind, src_info, template, tgt_info)
  x_src = np.asarray(x_src)
  if num_samples is None:
    num_samples = (tgt_info.num_samples if tgt_info is not None
                   else x_src.shape[0])
  if kind == "source":
    if num_samples == x_src.shape[0]:
      return x_src
    reps = -(-num_samples // x_src.shape[0])
    return np.tile(x_src, (reps, 1))[:num_samples]
  t = np.arange(num_samples, dtype=np.float64)
  cyc = None
  if kind == "regression":
    cyc, cad = template.predict_cycles(src_info.mean, src_info.cadence,
                                       v_src, [v_tgt])
    cyc, pred_cad = cyc[0], float(cad[0])
  elif kind == "template":
    cyc = src_info.mean + (template.population_cycle(v_tgt) -
                           template.population_cycle(v_src))
  if _uses_target_timing(tgt_info):
    tgt_cad = float("nan")
  elif kind == "regression":
    tgt_cad = pred_cad
  else:
    tgt_cad = expected_cadence(src_info.cadence, v_src, v_tgt, template)
  phases = {}
  for side in constants.SIDES:
    b_src = src_info.boundaries[side]
    phase0 = float(_phase_at(b_src, np.zeros(1))[0])
    if np.isfinite(tgt_cad):
      phases[side] = phase0 + t * (tgt_cad / (120.0 * rate_hz))
    else:
      ph = _phase_at(tgt_info.boundaries[side], t)
      phases[side] = ph + np.round(phase0 - ph[0])
  if cyc is not None:
    out = np.empty((num_samples, constants.NUM_CHANNELS))
    for side in constants.SIDES:
      chans = list(constants.SIDE_CHANNELS[side])
      out[:, chans] = _sample_cycle(_close_cycle(cyc[chans]), phases[side])
  else:
    xs = x_src.astype(np.float64)
    out = np.empty((num_samples, constants.NUM_CHANNELS))
    for side in constants.SIDES:
      chans = list(constants.SIDE_CHANNELS[side])
      s = _warp_series(xs, src_info.boundaries[side], phases[side])
      out[:, chans] = _sample_series(xs[:, chans], s)
  dtype = x_src.dtype if np.issubdtype(x_src.dtype, np.floating) else \
      np.float64
  return out.astype(dtype, copy=False)


def make_reference(kind: str, x_src: np.ndarray, v_src: float, v_tgt: float,
                   template: Optional[TemplateModel], *,
                   rate_hz: float = constants.RATE_HZ,
                   x_tgt: Optional[np.ndarray] = None) -> np.ndarray:
  """The residual reference of one pair (detects cycles on every call).

  Args:
    kind: 'source' | 'warped' | 'template' | 'regression'.
    x_src: [T, 6] source trial (degrees).
    v_src, v_tgt: speeds (m/s).
    template: fitted TemplateModel, or None.
    rate_hz: sampling rate.
    x_tgt: [T', 6] target (training only): the reference follows its cycle
      timing and has its length.

  Returns:
    [T, 6] (T' when x_tgt is given); 'source' returns x_src itself.
  """
  _check_kind(kind)
  if kind == "source" and (x_tgt is None or
                           np.shape(x_tgt)[0] == np.shape(x_src)[0]):
    return np.asarray(x_src)
  src_info = cycle_info(x_src, rate_hz)
  tgt_info = None if x_tgt is None else cycle_info(x_tgt, rate_hz)
  return make_reference_from_info(kind, x_src, src_info, v_src, v_tgt,
                                  template, tgt_info=tgt_info,
                                  rate_hz=rate_hz)


def template_baseline(x_src: np.ndarray, v_src: float, v_tgt: float,
                      template: TemplateModel,
                      rate_hz: float = constants.RATE_HZ) -> np.ndarray:
  """Cycle-template baseline for evaluation: [T, 6] prediction of x_tgt.

  = ``make_reference('template', ...)`` without a target: the subject's mean
  source cycle plus the population change, tiled at the expected cadence
  from the source's phase (falls back like make_reference).
  """
  return make_reference("template", x_src, v_src, v_tgt, template,
                        rate_hz=rate_hz)
