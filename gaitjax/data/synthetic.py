r"""Synthetic treadmill cohorts: the default data and a test oracle.

Two cohorts shaped like the paper's (../shared/paper.md, II.A): an
able-bodied one (22 subjects, 0.50..1.85 m/s in 0.05 steps, like Camargo et
al. 2021) and a stroke-like one (19 subjects, 0.3/0.6/0.9/1.2 m/s plus one
self-selected speed, 11 left / 8 right paretic). One ``Trial`` per subject
and speed: 32 s of the six sagittal angles at 200 Hz, degrees, clinical
signs, canonical channel order (gaitjax.constants).

How a trial is made
-------------------
1. Population curve. Each joint is a Fourier series (6 harmonics) on a
   *canonical* gait phase psi in [0, 1) whose toe-off sits at 0.62. Two
   anchor curves were fitted (least squares, residual RMS <= 0.5 deg) to the
   public Fukuchi et al. 2018 WBDS01 cycle averages: T01 (belt 0.488 m/s)
   and T05 (~1.22 m/s, assumed comfortable; hip shifted -10 deg to the
   OpenSim pelvis-relative level of ~+30 deg at heel strike). The speed
   enters through u(v) = ln(v / 1.22) / ln(1.22 / 0.488) (u = -1 at 0.488,
   0 at 1.22), compressed outside the anchors (u / (1 + k u) above 1.22
   with k = 0.3 hip, 3.0 knee, 0.6 ankle; slope 0.6 below 0.488) so
   extrapolation stays in the published ranges. Curve(v) = comfortable +
   u(v) * g * (comfortable - slow) (g = 0.75 for the ankle, 1 otherwise);
   the knee anchors are scaled by 0.94, a push-off bump deepens ankle
   plantarflexion toward normative values and two knee bumps make loading-
   response flexion grow and swing flexion grow less with u (see the table
   in docs/SYNTHETIC.md; issue 17 calibrated these against the 8 real
   people at 0.5-1.6 m/s of ../shared/data/fukuchi2018/wbds_multispeed).
   Last, a population ``SpeedCorrection`` fitted to those 8 people
   (gaitjax/eval/speed_calibration.py) is added on the leg phase: zero at
   1.04 m/s, the fitted curves at 0.49 and 1.57, quadratic in ln v between
   and held beyond, so the population's change of mean cycle between those
   speeds is the real one within 1 deg per channel (hip: shape only).
2. Timing. A leg's own phase phi (0 = its heel strike) maps to psi through a
   smooth monotone warp that puts toe-off at the leg's stance fraction
   s(v) = 0.618 - 0.030 ln(v / 1.22) (~0.65 slow -> ~0.605 fast), so the
   swing peaks move earlier as speed grows, plus a subject-specific smooth
   warp (3 sine terms) that shifts peak timings by ~1-2 % of the cycle.
3. Subject. Persistent parameters drawn once per subject: joint offsets,
   gains about the cycle mean, random smooth shape terms (harmonics 1-5),
   left/right differences, preferred cadence and its speed exponent, stance
   fraction and its speed slope, and the subject's own response to speed
   (a per-joint multiplier of the population change plus a subject-specific
   speed-dependent shape and offset term). The speed multipliers are
   correlated (rho 0.5) with the subject's gains, so part of a subject's
   speed response can be read from one recording and part cannot.
4. Recording. Per trial: random phase at t = 0, a trial-level cadence and
   offset deviation, stride durations with AR(1) jitter, per-stride gain,
   offset and timing jitter (interpolated across strides, so continuous),
   slow Ornstein-Uhlenbeck drifts of cadence and of each channel, and white
   measurement noise. The left leg runs half a cycle behind the right (plus
   the subject's asymmetry).
5. Stroke. Per subject a severity in [0, 1] (Beta(2, 2)) scales Gaussian
   bumps on the paretic side's canonical phase: less swing knee flexion
   (stiff knee), less swing dorsiflexion (foot drop) and push-off, less hip
   extension in late stance and less swing hip flexion (sagittal trace of
   circumduction), shorter paretic / longer non-paretic stance, an uneven
   step timing, lower cadence at a speed, more stride variability and a
   wider between-subject spread.

Parameters, their ranges and sources: the table in docs/SYNTHETIC.md
(between-subject SDs, stride-to-stride jitter, population ranges measured
from the generated signals, each with the study or WBDS01 measurement it
comes from; able-bodied and stroke).

Every number is drawn from a ``numpy.random.Generator`` seeded by
(seed, cohort, subject, speed, recording), so a trial does not depend on
which other trials are generated, and the same seed gives identical arrays.
``recording=k`` draws an independent repeat recording of the same subjects
(fresh phase, strides, drift and noise): the oracle's "second recording".
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data.trial import Trial
from gaitjax.errors import ConfigError

# --------------------------------------------------------------- constants
# Recorded in every synthetic build (tfds_builders.build_params): a build
# made by another revision is refused on reuse instead of silently mixed.
# Change it whenever the same seed starts to give other arrays.
GENERATOR_REVISION = "2026-12-04 fitted speed correction, cadence 108^0.48"
_TOE_OFF = 0.62                  # toe-off on the canonical phase psi
_HARMONICS = 6
_GRID = 256                      # phase table resolution per cycle
_ANCHOR_SLOW_MPS = 0.488         # WBDS01 T01 belt speed
_ANCHOR_COMF_MPS = 1.22          # WBDS01 T05 (assumed comfortable)
_U_SCALE = float(np.log(_ANCHOR_COMF_MPS / _ANCHOR_SLOW_MPS))

# [c0, a1, b1, ..., a6, b6]: sum_k a_k cos(2 pi k psi) + b_k sin(2 pi k psi),
# fitted to WBDS01 (Fukuchi 2018) cycle averages of both legs, hip -10 deg.
_TEMPLATE_SLOW: Dict[str, Tuple[float, ...]] = {
    "hip": (10.40, 14.83, -3.10, -1.64, -2.58, 0.37, 1.38, 0.23, -0.16,
            -0.23, 0.34, 0.10, 0.22),
    "knee": (15.56, -0.13, -17.63, -12.14, 3.89, 1.02, 5.58, 0.86, 0.22,
             -0.67, 0.99, 0.22, 0.59),
    "ankle": (3.51, -4.77, 0.83, -0.29, -2.85, -2.96, 0.56, 1.04, 1.13, 0.35,
              -0.42, 0.12, -0.10),
}
_TEMPLATE_COMF: Dict[str, Tuple[float, ...]] = {
    "hip": (10.24, 18.91, -4.27, -3.24, -1.34, -0.57, 1.72, -0.33, -0.32,
            -0.31, 0.37, -0.38, 0.33),
    "knee": (22.17, -0.95, -24.45, -17.46, 5.52, -1.85, 5.03, -1.83, 0.73,
             -0.77, 1.48, 0.21, 0.44),
    "ankle": (1.83, -0.66, 4.17, 0.15, -5.34, -3.08, 0.34, 1.37, 0.49, 0.11,
              -0.58, 0.44, 0.51),
}

# Population cadence (steps/min) = _CAD_REF * (v / 1.2) ** _CAD_EXP.
# Issue 17: the 8 real people of wbds_multispeed walk at ~117 steps/min at
# 1.2 m/s with a within-person exponent of 0.48 (measured with the project's
# hip-based cycle detection; five of them are over 55 and short, which
# raises cadence), the literature's adults lower (~98 at 1.03 m/s, Murakami
# & Otaka 2017; WBDS01 alone 67.7 at 0.488) and below the walk-run
# transition (~135-140 steps/min, Tudor-Locke) at 1.85 m/s: 108 and the real
# exponent 0.48 (was 105 and 0.52).
_CAD_REF = 108.0
_CAD_EXP = 0.48
# Between-subject SDs of offsets (deg) and of shape terms by harmonic (deg).
_OFFSET_SD = {"hip": 3.5, "knee": 2.5, "ankle": 3.0}
_SHAPE_SD = np.array([1.6, 1.3, 1.0, 0.7, 0.45])
_SHAPE_JOINT_SCALE = {"hip": 1.0, "knee": 1.3, "ankle": 0.8}
# WBDS01's knee (66.5 deg swing peak at T05) sits at the top of the normative
# range (Winter* 2009, Lelas 2003: ~60-65 deg at comfortable speed); scaling
# the knee anchors by 0.94 moves the population to ~62.5 deg at 1.22 m/s.
_TEMPLATE_SCALE = {"hip": 1.0, "knee": 0.94, "ankle": 1.0}
# WBDS01's push-off (-12 deg at T05) is shallower than the normative ~-15..
# -20 deg at comfortable and fast speeds (Winter* 2009; Fukuchi 2019 review):
# a population push-off bump deepens it by max(0, 4 + 3 u) deg (~1 deg at
# 0.5 m/s, 4 at 1.22, ~5 at 1.85) at psi = 0.645.
_PUSH_OFF_MU, _PUSH_OFF_WIDTH = 0.645, 0.05


def _push_off_depth(u: float) -> float:
  return max(0.0, _PUSH_OFF_DEPTH[0] + _PUSH_OFF_DEPTH[1] * u)


_PUSH_OFF_DEPTH = (4.0, 3.0)
# Issue 17 recalibration against the 8 real people of Fukuchi 2018 at
# ~0.49 / 1.04 / 1.57 m/s (../shared/data/fukuchi2018/wbds_multispeed; see
# gaitjax/eval/cohort_compare.py). The population speed change was WBDS01's
# alone; the multi-speed population shows (and the literature agrees):
# Compression of u above the comfortable anchor, per joint (u / (1 + k u)).
# Hip range keeps growing with step length above ~1.2 m/s (real thigh
# range 40.3 -> 45.7 deg from 1.04 to 1.57 m/s; Fukuchi 2019 Syst Rev 8:153:
# hip flexion and extension peaks rise with speed): weak compression. The
# knee's swing peak saturates (real 59.9 -> 59.9 deg; Schwartz* 2008 J
# Biomech: peak swing knee flexion nearly constant over fast speeds):
# strong compression. Was 1.2 for every joint.
_U_COMPRESS = {"hip": 0.3, "knee": 3.0, "ankle": 0.6}
# Gain on the WBDS01 slow -> comfortable change, per joint. WBDS01's push-
# off deepens 10 deg from 0.49 to 1.22 m/s (-2.1 -> -12), more than the
# 8-person population's (-9.3 -> -16.3 from 0.49 to 1.04): ankle x 0.75.
_DELTA_GAIN = {"hip": 1.0, "knee": 1.0, "ankle": 0.75}
# Knee loading-response flexion grows with speed at every speed (Lelas 2003
# Gait Posture 17:106; Fukuchi 2019 review; real 8.6 -> 12.5 deg from 1.04
# to 1.57 m/s, which the knee's compression alone would flatten):
# + _KNEE_LR_TREND * u deg at psi 0.13.
_KNEE_LR_TREND = 3.0
_KNEE_LR_MU, _KNEE_LR_WIDTH = 0.13, 0.05
# WBDS01's swing-peak growth (53 -> 66.5 deg) is above the population's
# (real 48.3 -> 59.9 from 0.49 to 1.04 m/s): + _KNEE_SW_TREND * u deg at
# psi 0.74 (i.e. 3 deg less growth per unit u).
_KNEE_SW_TREND = -3.0
_KNEE_SW_MU, _KNEE_SW_WIDTH = 0.74, 0.06
# Stance fraction slope: s(v) = 0.618 - _STANCE_SLOPE ln(v / 1.22).
_STANCE_SLOPE = 0.030


@dataclasses.dataclass(frozen=True)
class SpeedCorrection:
  """A population change of the joint curves with speed, fitted to real data.

  Added to every subject's curves on the leg phase (0 = the leg's heel
  strike), after everything above, so the synthetic population's change of
  mean cycle between the anchors matches a real population's
  (gaitjax/eval/speed_calibration.py fits it; issue 17). Zero at the
  middle anchor; quadratic in x = ln(v / middle) through the three anchors;
  held at the end anchor's value beyond it (the data say nothing there: the
  stroke cohort's 0.3 m/s, the able-bodied 1.85 m/s).

  Attributes:
    anchors_mps: (slow, middle, fast) m/s.
    slow, fast: [3, 1 + 2K] Fourier coefficients per joint (hip, knee,
      ankle) of the correction at the slow / fast anchor, on the leg phase,
      [c0, a1, b1, ..., aK, bK] like the templates.
  """
  anchors_mps: Tuple[float, float, float]
  slow: np.ndarray
  fast: np.ndarray

  def weights(self, v: float) -> Tuple[float, float]:
    """(w_slow, w_fast) at speed v: correction = w_slow slow + w_fast fast."""
    lo, mid, hi = self.anchors_mps
    xs, xf = np.log(lo / mid), np.log(hi / mid)
    x = float(np.log(v / mid))
    if x <= xs:      # beyond an end anchor: held at that anchor's value
      return 1.0, 0.0
    if x >= xf:
      return 0.0, 1.0
    return (float(x * (x - xf) / (xs * (xs - xf))),
            float(x * (x - xs) / (xf * (xf - xs))))

  def table(self, v: float, phase: np.ndarray) -> np.ndarray:
    """[3, N] correction (deg) per joint at speed v on leg phases [N]."""
    w_slow, w_fast = self.weights(v)
    basis = _fourier_basis(np.asarray(phase, np.float64))
    return (w_slow * np.asarray(self.slow) + w_fast * np.asarray(self.fast)
            ) @ basis.T

  def to_dict(self) -> Dict[str, object]:
    """JSON-able form (speed_correction.json, build records)."""
    return {"anchors_mps": [float(a) for a in self.anchors_mps],
            "slow": np.asarray(self.slow, np.float64).round(6).tolist(),
            "fast": np.asarray(self.fast, np.float64).round(6).tolist()}

  @classmethod
  def from_dict(cls, d: Dict[str, object],
                where: str = "speed correction") -> "SpeedCorrection":
    """Inverse of to_dict; ConfigError naming ``where`` and the field."""
    if not isinstance(d, dict):
      raise ConfigError(f"{where}: expected a JSON object with anchors_mps, "
                        f"slow and fast, got {type(d).__name__}")
    missing = [k for k in ("anchors_mps", "slow", "fast") if k not in d]
    if missing:
      raise ConfigError(f"{where}: missing field(s) {missing}")
    try:
      anchors = tuple(float(a) for a in d["anchors_mps"])
      slow = np.asarray(d["slow"], np.float64)
      fast = np.asarray(d["fast"], np.float64)
    except (TypeError, ValueError) as e:
      raise ConfigError(f"{where}: non-numeric values ({e})") from None
    if len(anchors) != 3 or not (0 < anchors[0] < anchors[1] < anchors[2]):
      raise ConfigError(f"{where}: anchors_mps must be 3 increasing speeds "
                        f"> 0 m/s (slow, middle, fast), got {anchors}")
    shape = (3, 1 + 2 * _HARMONICS)
    for name, x in (("slow", slow), ("fast", fast)):
      if x.shape != shape:
        raise ConfigError(f"{where}: field {name!r} must be {list(shape)} "
                          f"(hip, knee, ankle x Fourier coefficients), got "
                          f"{list(x.shape)}")
      if not np.all(np.isfinite(x)):
        raise ConfigError(f"{where}: field {name!r} holds NaN or inf")
    return cls(anchors, slow, fast)

  @classmethod
  def load(cls, path: str) -> "SpeedCorrection":
    """Reads a speed_correction.json (launch/compare_cohorts.py writes it)."""
    import json  # pylint: disable=g-import-not-at-top
    try:
      with open(path, encoding="utf-8") as f:
        d = json.load(f)
    except FileNotFoundError:
      raise ConfigError(f"speed correction file {path} not found") from None
    except (OSError, ValueError) as e:
      raise ConfigError(f"speed correction file {path}: not readable JSON "
                        f"({e})") from None
    return cls.from_dict(d, where=str(path))

  @classmethod
  def zero(cls) -> "SpeedCorrection":
    """No correction (the generator's own speed trends alone)."""
    z = np.zeros((3, 1 + 2 * _HARMONICS))
    return cls((0.49, 1.04, 1.57), z, z)


# Fitted to the 8 real people of Fukuchi 2018 (../shared/data/fukuchi2018/
# wbds_multispeed, T01 / T04 / T07 at 0.49 / 1.04 / 1.57 m/s) by
# gaitjax.eval.speed_calibration.fit_speed_correction (4 rounds, 48
# subjects, seed 0; ``python launch/compare_cohorts.py --fit_correction``
# prints it). The hip's cycle-mean change is not fitted (the real hip is
# thigh-to-vertical). Leave one person out, the generator fitted on 7 is as
# close to the 8th as the other 7 real people are (README).
DEFAULT_SPEED_CORRECTION = SpeedCorrection(
    anchors_mps=(0.49, 1.04, 1.57),
    slow=np.array([
        # hip
        [0.01, -0.26, -1.90, 0.03, 0.69, -0.44, -0.07,
         0.26, -0.15, -0.03, -0.13, -0.44, -0.57],
        # knee
        [0.92, 1.05, -1.02, 0.23, 0.68, -0.31, -0.23,
         -0.61, -0.62, -0.14, -0.24, 0.09, -0.14],
        # ankle
        [0.71, 2.01, 0.47, -0.38, -0.22, -0.90, 0.23,
         -0.79, 0.35, -0.30, 0.03, -0.58, -0.45],
    ]),
    fast=np.array([
        # hip
        [-0.03, 1.49, 2.13, 0.47, -0.32, -0.11, -0.26,
         0.17, -0.03, 0.06, -0.24, 0.20, 0.03],
        # knee
        [0.55, 2.02, 1.77, -0.03, -0.26, -0.20, -0.14,
         0.78, -0.55, -0.02, -0.45, -0.05, 0.05],
        # ankle
        [0.25, 1.57, 0.01, -0.78, 0.33, 1.03, 0.08,
         -0.35, -0.44, 0.24, 0.68, 0.00, -0.41],
    ]))


# Subject-level normal draws are clipped at +-2.5 SD: no 4-SD outliers.
_Z_CLIP = 2.5

_AB_SPEEDS: Tuple[float, ...] = tuple(
    round(0.50 + 0.05 * i, 2) for i in range(28))
_STROKE_BASE_SPEEDS: Tuple[float, ...] = (0.3, 0.6, 0.9, 1.2)
# A stroke-like training population's speeds: the protocol's range, 0.05 apart.
STROKE_POPULATION_SPEEDS: Tuple[float, ...] = tuple(
    round(0.30 + 0.05 * i, 2) for i in range(19))
_COHORT_TAG = {"able_bodied": 11, "stroke": 29}


# ---------------------------------------------------------- small helpers
def speed_feature(v: float, joint: str = "knee") -> float:
  """u(v): 0 at 1.22 m/s, -1 at 0.488 m/s, compressed outside [0.488, 1.22].

  Above 1.22 m/s u = x / (1 + k x) with the joint's k (_U_COMPRESS).
  """
  x = np.log(v / _ANCHOR_COMF_MPS) / _U_SCALE
  if x > 0:
    return float(x / (1.0 + _U_COMPRESS[joint] * x))
  if x < -1:
    return float(-1.0 + 0.6 * (x + 1.0))
  return float(x)


def channel_speed_features(v: float) -> np.ndarray:
  """[6] u(v) of each channel's joint (speed_feature)."""
  return np.array([speed_feature(v, constants.joint_of(ch))
                   for ch in range(constants.NUM_CHANNELS)])


def population_cadence(v: float) -> float:
  """Population-mean cadence in steps/min at speed v m/s (see table)."""
  return _CAD_REF * (v / 1.2) ** _CAD_EXP


def stance_fraction(v: float) -> float:
  """Population stance fraction of the gait cycle at speed v m/s."""
  return 0.618 - _STANCE_SLOPE * np.log(v / _ANCHOR_COMF_MPS)


def _fourier_basis(psi: np.ndarray) -> np.ndarray:
  """[N] phases -> [N, 1 + 2K] basis (1, cos 2pi k psi, sin 2pi k psi)."""
  k = np.arange(1, _HARMONICS + 1)
  ang = 2.0 * np.pi * psi[:, None] * k[None, :]
  cols = np.empty((psi.shape[0], 1 + 2 * _HARMONICS))
  cols[:, 0] = 1.0
  cols[:, 1::2] = np.cos(ang)
  cols[:, 2::2] = np.sin(ang)
  return cols


def _bump(psi: np.ndarray, mu: float, width: float) -> np.ndarray:
  """Periodic Gaussian bump of unit height at mu, SD ``width`` (cycles)."""
  d = (psi - mu + 0.5) % 1.0 - 0.5
  return np.exp(-0.5 * (d / width) ** 2)


def _canonical_phase(stance: float, warp: np.ndarray) -> np.ndarray:
  """Leg phase grid [_GRID + 1] -> canonical phase psi (monotone, psi(1)=1).

  The density maps stance [0, stance) onto [0, 0.62) and swing onto
  [0.62, 1), smoothed (SD 0.03 cycles) so the warp has no kink; ``warp``
  [3] adds sum_k w_k sin(2 pi k psi) / (2 pi k), which moves peak timings
  while keeping psi(0) = 0 and psi(1) = 1.
  """
  phi = (np.arange(_GRID) + 0.5) / _GRID
  dens = np.where(phi < stance, _TOE_OFF / stance,
                  (1.0 - _TOE_OFF) / (1.0 - stance))
  freqs = np.fft.rfftfreq(_GRID, d=1.0 / _GRID)
  kernel = np.exp(-0.5 * (2 * np.pi * freqs * 0.03) ** 2)
  dens = np.fft.irfft(np.fft.rfft(dens) * kernel, n=_GRID)
  cum = np.concatenate([[0.0], np.cumsum(dens)])
  psi = cum / cum[-1]
  for k, w in enumerate(warp, start=1):
    psi = psi + w * np.sin(2 * np.pi * k * psi) / (2 * np.pi * k)
  return psi


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
  """[n] stationary AR(1) sequence with unit variance."""
  e = rng.standard_normal(n)
  out = np.empty(n)
  out[0] = e[0]
  scale = np.sqrt(1.0 - rho ** 2)
  for i in range(1, n):
    out[i] = rho * out[i - 1] + scale * e[i]
  return out


def _ou(rng: np.random.Generator, t: np.ndarray, sd: float, tau: float,
        channels: int) -> np.ndarray:
  """[T, channels] Ornstein-Uhlenbeck drift (SD sd, time constant tau s).

  Drawn on a 0.25 s grid and interpolated: the drift is slow anyway.
  """
  dt = 0.25
  n = int(np.ceil((t[-1] - t[0]) / dt)) + 2
  rho = np.exp(-dt / tau)
  e = rng.standard_normal((n, channels))
  x = np.empty((n, channels))
  x[0] = e[0]
  for i in range(1, n):
    x[i] = rho * x[i - 1] + np.sqrt(1 - rho ** 2) * e[i]
  grid = t[0] + dt * np.arange(n)
  return sd * np.stack([np.interp(t, grid, x[:, c]) for c in range(channels)],
                       axis=1)


# ------------------------------------------------------- subject parameters
@dataclasses.dataclass(frozen=True)
class _Bump:
  """amplitude(u) * bump(psi; mu, width) added to one channel."""
  channel: int
  mu: float
  width: float
  amp0: float
  amp_u: float


@dataclasses.dataclass(frozen=True)
class _Subject:
  """Persistent parameters of one synthetic subject (see module table)."""
  name: str
  index: int
  cohort: str
  paretic_side: Optional[str]
  coef0: np.ndarray            # [6, 1 + 2K] curve coefficients at u = 0
  coef_u: np.ndarray           # [6, 1 + 2K] change per unit u
  bumps: Tuple[_Bump, ...]
  cad_gain: float
  cad_exp: float
  stance_shift: Tuple[float, float]   # (right, left) added to s(v)
  stance_slope: float                 # multiplier of the s(v) speed slope
  timing_warp: np.ndarray             # [2, 3] right/left phase warps
  lr_offset: float                    # left phase lag (cycles)
  var_scale: float                    # stride variability multiplier
  # [6, 1 + 2K] E[coef_u | the subject's traits]: the side gain times
  # E[mult | z_gain] times the population change; shape_u and offset_u
  # (independent of everything) at their mean 0. The knowable part of the
  # speed response (``knowable_trial``).
  coef_u_known: Optional[np.ndarray] = None
  joint_gain: Optional[np.ndarray] = None    # [3] exp(0.08 spread z_gain)
  speed_mult: Optional[np.ndarray] = None    # [3] speed-response multiplier
  # Population correction of the speed trends (None: no correction).
  speed_correction: Optional[SpeedCorrection] = None


def _z(rng: np.random.Generator, size=None):
  """Standard normal draw(s) clipped at +-_Z_CLIP."""
  return np.clip(rng.standard_normal(size), -_Z_CLIP, _Z_CLIP)


def _shape_coefs(rng: np.random.Generator, sd: np.ndarray) -> np.ndarray:
  """[1 + 2K] random smooth shape term (no mean), harmonic SDs ``sd``."""
  c = np.zeros(1 + 2 * _HARMONICS)
  n = len(sd)
  c[1:1 + 2 * n] = _z(rng, 2 * n) * np.repeat(sd, 2) / np.sqrt(2)
  return c


def _draw_subject(seed: int, cohort: str, index: int,
                  paretic_side: Optional[str] = None,
                  severity: float = 0.0, *,
                  speed_response: str = "correlated",
                  prefix: Optional[str] = None,
                  speed_correction: Optional[SpeedCorrection] = None
                  ) -> _Subject:
  _check_speed_response(speed_response)
  if speed_correction is None:
    speed_correction = DEFAULT_SPEED_CORRECTION
  rng = np.random.default_rng([seed, _COHORT_TAG[cohort], index, 0])
  # "uncorrelated": the multiplier's z_gain term comes from a separate stream,
  # so every other trait (and every draw of ``rng``) is the same as in the
  # correlated cohort and the multiplier keeps its marginal distribution.
  indep = np.random.default_rng([seed, _COHORT_TAG[cohort], index, 1])
  stroke = cohort == "stroke"
  spread = 1.5 if stroke else 1.0
  coef0 = np.zeros((constants.NUM_CHANNELS, 1 + 2 * _HARMONICS))
  coef_u = np.zeros_like(coef0)
  coef_u_known = np.zeros_like(coef0)
  joint_gain, speed_mult = np.zeros(3), np.zeros(3)
  for j, joint in enumerate(constants.JOINTS):
    comf = _TEMPLATE_SCALE[joint] * np.asarray(_TEMPLATE_COMF[joint])
    delta = _DELTA_GAIN[joint] * (
        comf - _TEMPLATE_SCALE[joint] * np.asarray(_TEMPLATE_SLOW[joint]))
    z_gain = _z(rng)
    gain = np.exp(spread * 0.08 * z_gain)
    # Speed-response multiplier correlated (rho 0.5) with the gain.
    z_mult = _z(rng)
    if speed_response == "correlated":
      mult = 1.0 + 0.25 * (0.5 * z_gain + np.sqrt(0.75) * z_mult)
      mult_known = 1.0 + 0.25 * 0.5 * z_gain          # E[mult | z_gain]
    else:
      mult = 1.0 + 0.25 * (0.5 * _z(indep) + np.sqrt(0.75) * z_mult)
      mult_known = 1.0
    joint_gain[j], speed_mult[j] = gain, mult
    # Offsets are mostly marker placement: barely wider after a stroke.
    offset = min(spread, 1.2) * _OFFSET_SD[joint] * _z(rng)
    offset_u = 1.0 * _z(rng)
    shape_sd = spread * _SHAPE_JOINT_SCALE[joint] * _SHAPE_SD
    shape = _shape_coefs(rng, shape_sd)
    shape_u = _shape_coefs(rng, 0.5 * _SHAPE_JOINT_SCALE[joint]
                           * _SHAPE_SD[:3])
    for side, chans in (("right", constants.RIGHT), ("left", constants.LEFT)):
      ch = chans[j]
      side_gain = gain * np.exp(0.03 * _z(rng))
      side_shape = shape + _shape_coefs(rng, 0.3 * shape_sd)
      c0 = comf + side_shape
      cu = mult * delta + shape_u
      ck = mult_known * delta
      c0[1:] *= side_gain
      cu[1:] *= side_gain
      ck[1:] *= side_gain
      c0[0] += offset + 1.2 * _z(rng)
      cu[0] += offset_u
      coef0[ch], coef_u[ch], coef_u_known[ch] = c0, cu, ck
  cad_gain = float(np.exp(0.07 * _z(rng)))   # real set: ~8 % SD
  cad_exp = _CAD_EXP + 0.04 * _z(rng)
  st = 0.012 * _z(rng)
  stance_shift = (st + 0.004 * _z(rng),
                  st + 0.004 * _z(rng))
  stance_slope = float(max(0.2, 1.0 + 0.25 * _z(rng)))
  warp_common = 0.06 * _z(rng, 3)
  timing_warp = warp_common + 0.02 * _z(rng, (2, 3))
  lr_offset = 0.5 + 0.008 * _z(rng)
  var_scale = float(np.exp(0.2 * _z(rng)))
  bumps: Tuple[_Bump, ...] = ()
  if stroke:
    (cad_gain, cad_exp, stance_shift, lr_offset, var_scale,
     bumps) = _stroke_changes(rng, paretic_side, severity, cad_gain,
                              stance_shift, var_scale)
  if prefix is None:
    prefix = "ST" if stroke else "AB"
  return _Subject(
      name=f"{prefix}{index + 1:02d}", index=index, cohort=cohort,
      paretic_side=paretic_side, coef0=coef0, coef_u=coef_u, bumps=bumps,
      cad_gain=cad_gain, cad_exp=float(cad_exp), stance_shift=stance_shift,
      stance_slope=stance_slope, timing_warp=timing_warp,
      lr_offset=float(lr_offset), var_scale=var_scale,
      coef_u_known=coef_u_known, joint_gain=joint_gain,
      speed_mult=speed_mult, speed_correction=speed_correction)


def _stroke_changes(rng, paretic_side, severity, cad_gain, stance_shift,
                    var_scale):
  """Stroke-specific cadence, timing and paretic-side bumps (see table)."""
  sev = float(severity)
  p = constants.SIDE_CHANNELS[paretic_side]
  other = "left" if paretic_side == "right" else "right"
  n = constants.SIDE_CHANNELS[other]
  cad_gain = cad_gain * (0.97 - 0.13 * sev) * np.exp(
      0.05 * rng.standard_normal())
  cad_exp = 0.45 + 0.08 * rng.standard_normal()
  dp = 0.02 + 0.05 * sev * np.exp(0.3 * rng.standard_normal())
  dn = 0.02 + 0.05 * sev * np.exp(0.3 * rng.standard_normal())
  shift = {paretic_side: -dp, other: dn}
  stance_shift = (stance_shift[0] + shift["right"],
                  stance_shift[1] + shift["left"])
  # The non-paretic step is shorter in time: the paretic heel strike comes
  # late after the non-paretic one.
  step_asym = (0.01 + 0.04 * sev) * np.exp(0.3 * rng.standard_normal())
  lr_offset = 0.5 + (step_asym if paretic_side == "left" else -step_asym)
  lr_offset += 0.01 * rng.standard_normal()
  var_scale = var_scale * (1.5 + 1.5 * sev)
  hip, knee, ankle = p
  r = float(np.clip((0.15 + 0.55 * sev) * np.exp(0.15 * rng.standard_normal()),
                    0.05, 0.8))
  foot_drop = 1.0 + 7.0 * sev * np.exp(0.3 * rng.standard_normal())
  push = float(np.clip(0.2 + 0.6 * sev + 0.1 * rng.standard_normal(), 0, 0.9))
  hip_ext = 2.0 + 8.0 * sev * np.exp(0.3 * rng.standard_normal())
  bumps = (
      # Stiff knee: less swing flexion, and less of its growth with speed.
      _Bump(knee, 0.735 + 0.01 * rng.standard_normal(), 0.075,
            -r * 50.0, -r * 13.0),
      # Knee in stance: hyperextension (-) or flexed stance (+).
      _Bump(knee, 0.35, 0.12, 4.0 * _z(rng), 0.0),
      # Foot drop: less dorsiflexion in swing.
      _Bump(ankle, 0.86, 0.07, -foot_drop, 0.0),
      # Weaker push-off plantarflexion.
      _Bump(ankle, _PUSH_OFF_MU, _PUSH_OFF_WIDTH, push * 16.0, push * 13.0),
      # Less hip extension in late stance, less swing hip flexion.
      _Bump(hip, 0.55, 0.10, hip_ext, 0.0),
      _Bump(hip, 0.86, 0.10, -4.0 * sev, 0.0),
      # Non-paretic side: a little more stance knee flexion and hip flexion
      # (a common compensation); small on purpose.
      _Bump(n[1], 0.15, 0.07, 3.0 * sev * rng.uniform(0, 1), 0.0),
      _Bump(n[0], 0.9, 0.12, 2.0 * sev * rng.uniform(0, 1), 0.0),
  )
  return cad_gain, cad_exp, stance_shift, lr_offset, var_scale, bumps


# ------------------------------------------------------------- recording
def _cycle_tables(subj: _Subject, v: float, stance: Tuple[float, float]
                  ) -> np.ndarray:
  """[6, _GRID + 1] joint angle over one leg cycle (leg phase grid)."""
  u = channel_speed_features(v)
  tables = np.empty((constants.NUM_CHANNELS, _GRID + 1))
  correction = None
  if subj.speed_correction is not None:
    correction = subj.speed_correction.table(
        v, np.linspace(0.0, 1.0, _GRID + 1))
  for s, chans in enumerate((constants.RIGHT, constants.LEFT)):
    psi = _canonical_phase(stance[s], subj.timing_warp[s])
    basis = _fourier_basis(psi)
    for ch in chans:
      tables[ch] = basis @ (subj.coef0[ch] + u[ch] * subj.coef_u[ch])
      joint = constants.joint_of(ch)
      if joint == "ankle":
        tables[ch] -= _push_off_depth(u[ch]) * _bump(psi, _PUSH_OFF_MU,
                                                      _PUSH_OFF_WIDTH)
      elif joint == "knee":
        tables[ch] += u[ch] * (
            _KNEE_LR_TREND * _bump(psi, _KNEE_LR_MU, _KNEE_LR_WIDTH)
            + _KNEE_SW_TREND * _bump(psi, _KNEE_SW_MU, _KNEE_SW_WIDTH))
      for b in subj.bumps:
        if b.channel == ch:
          tables[ch] += (b.amp0 + u[ch] * b.amp_u) * _bump(psi, b.mu,
                                                           b.width)
      if correction is not None:
        tables[ch] += correction[constants.JOINTS.index(
            constants.joint_of(ch))]
  return tables


def _record(subj: _Subject, v: float, seed: int, recording: int,
            duration_s: float, rate_hz: float) -> np.ndarray:
  """One trial of subject ``subj`` at speed v: [T, 6] degrees."""
  rng = np.random.default_rng(
      [seed, _COHORT_TAG[subj.cohort], subj.index,
       int(round(v * 1000)), recording + 1])
  n = int(round(duration_s * rate_hz))
  t = np.arange(n) / rate_hz
  # Per-recording state: cadence and offsets vary a little between trials.
  cadence = (population_cadence(v) / _CAD_REF) ** (subj.cad_exp / _CAD_EXP)
  cadence = _CAD_REF * cadence * subj.cad_gain
  cadence *= np.exp(0.015 * rng.standard_normal())
  stride_s = 120.0 / cadence
  slope = -_STANCE_SLOPE * subj.stance_slope
  base_stance = 0.618 + slope * np.log(v / _ANCHOR_COMF_MPS)
  stance = tuple(float(np.clip(base_stance + d + 0.005 * rng.standard_normal(),
                               0.5, 0.78)) for d in subj.stance_shift)
  tables = _cycle_tables(subj, v, stance)
  means = tables[:, :-1].mean(axis=1)
  # Strides: AR(1) jitter plus a slow cadence drift (log-OU, 1 %, 8 s).
  cv = 0.018 * (1.2 / v) ** 0.6 * subj.var_scale
  n_str = int(duration_s / stride_s * 1.3) + 6
  drift = np.exp(0.01 * _ar1(rng, n_str, np.exp(-stride_s / 8.0)))
  durations = stride_s * drift * np.clip(1.0 + cv * _ar1(rng, n_str, 0.4),
                                         0.6, 1.4)
  phase0 = rng.uniform()
  strikes = (np.concatenate([[0.0], np.cumsum(durations)])
             - phase0 * durations[0])
  k = np.clip(np.searchsorted(strikes, t, side="right") - 1, 0, n_str - 1)
  phi_r = k + (t - strikes[k]) / durations[k]
  phi = np.stack([phi_r, phi_r - subj.lr_offset
                  - 0.004 * subj.var_scale * np.interp(
                      phi_r, np.arange(n_str), rng.standard_normal(n_str))])
  # Stride-to-stride jitter, one value per stride, interpolated in phase.
  knots = np.arange(-2, n_str + 2)
  jit_gain = 0.03 * subj.var_scale * rng.standard_normal((6, knots.size))
  jit_off = 0.6 * subj.var_scale * rng.standard_normal((6, knots.size))
  jit_time = 0.1 * subj.var_scale * rng.standard_normal((2, knots.size))
  grid = np.linspace(0.0, 1.0, _GRID + 1)
  out = np.empty((n, constants.NUM_CHANNELS))
  for s, chans in enumerate((constants.RIGHT, constants.LEFT)):
    ph = phi[s]
    ph = ph + np.interp(ph, knots, jit_time[s]) * np.sin(2 * np.pi * ph) / (
        2 * np.pi)
    frac = ph % 1.0
    for ch in chans:
      shape = np.interp(frac, grid, tables[ch]) - means[ch]
      out[:, ch] = (means[ch] + (1.0 + np.interp(ph, knots, jit_gain[ch]))
                    * shape + np.interp(ph, knots, jit_off[ch]))
  out += 0.4 * rng.standard_normal(6)         # per-recording offset
  out += _ou(rng, t, 0.4, 6.0, constants.NUM_CHANNELS)
  out += 0.35 * rng.standard_normal(out.shape)
  return out


# ----------------------------------------------------------------- cohorts
SPEED_RESPONSES: Tuple[str, ...] = ("correlated", "uncorrelated")


def _check_speed_response(speed_response: str) -> None:
  if speed_response not in SPEED_RESPONSES:
    raise ConfigError(f"speed_response must be one of {SPEED_RESPONSES}, "
                      f"got {speed_response!r}")


def _check_args(seed: int, recording: int, num_subjects: int,
                duration_s: float, rate_hz: float,
                speeds: Sequence[float]) -> None:
  for name, value in (("seed", seed), ("recording", recording)):
    if not isinstance(value, (int, np.integer)) or value < 0:
      raise ConfigError(f"{name} must be a non-negative integer, got "
                        f"{value!r}")
  if not isinstance(num_subjects, (int, np.integer)) or num_subjects < 1:
    raise ConfigError(f"num_subjects must be a positive integer, got "
                      f"{num_subjects!r}")
  if not (np.isfinite(duration_s) and duration_s > 0):
    raise ConfigError(f"duration_s must be > 0 seconds, got {duration_s!r}")
  if not (np.isfinite(rate_hz) and rate_hz > 0):
    raise ConfigError(f"rate_hz must be > 0, got {rate_hz!r}")
  if int(round(duration_s * rate_hz)) < 2:
    raise ConfigError(f"duration_s * rate_hz must give >= 2 samples, got "
                      f"{duration_s} s at {rate_hz} Hz")
  if len(speeds) == 0:
    raise ConfigError("speeds must list at least one speed in m/s, got none")
  lo, hi = constants.SPEED_LIMITS_MPS
  for v in speeds:
    if not (np.isfinite(v) and lo <= v <= hi):
      raise ConfigError(f"speeds: {v!r} m/s is outside the walking range "
                        f"[{lo}, {hi}] m/s")


def make_able_bodied_cohort(seed: int = 0, num_subjects: int = 22,
                            speeds: Optional[Sequence[float]] = None,
                            duration_s: float = 32.0, rate_hz: float = 200.0,
                            *, recording: int = 0,
                            speed_response: str = "correlated",
                            subject_prefix: str = "AB",
                            speed_correction: Optional[SpeedCorrection] = None
                            ) -> List[Trial]:
  """Able-bodied treadmill cohort: one Trial per subject and speed.

  Args:
    seed: cohort seed; the same seed gives identical arrays.
    num_subjects: subjects 'AB01', 'AB02', ...
    speeds: m/s; default 0.50..1.85 in 0.05 steps (28 speeds).
    duration_s: seconds per trial.
    rate_hz: sampling rate.
    recording: 0 = the cohort; k > 0 = an independent repeat recording of
      the same subjects and speeds (the oracle's "second recording").
    speed_response: 'correlated' (the default cohort: each joint's
      speed-response multiplier has correlation 0.5 with the subject's gain)
      or 'uncorrelated' (the multiplier is independent of every trait, same
      marginal distribution; every other trait and draw is unchanged).
    subject_prefix: subject names are prefix + number ('AB01', ...).
    speed_correction: the population speed-trend correction; None = the
      one fitted to the real people (DEFAULT_SPEED_CORRECTION);
      SpeedCorrection.zero() = none.

  Returns:
    list of Trial (subject-major, then speed order); angles [T, 6] degrees,
    T = round(duration_s * rate_hz); cohort 'able_bodied'.
  """
  speeds = _AB_SPEEDS if speeds is None else tuple(
      round(float(v), 2) for v in speeds)
  _check_args(seed, recording, num_subjects, duration_s, rate_hz, speeds)
  trials = []
  for i in range(num_subjects):
    subj = _draw_subject(seed, "able_bodied", i,
                         speed_response=speed_response,
                         prefix=subject_prefix,
                         speed_correction=speed_correction)
    for v in speeds:
      trials.append(Trial(subject=subj.name, speed_mps=v,
                          angles=_record(subj, v, seed, recording,
                                         duration_s, rate_hz),
                          rate_hz=rate_hz, cohort="able_bodied",
                          paretic_side=None, origin="synthetic"))
  return trials


def _paretic_sides(rng: np.random.Generator, num_subjects: int) -> List[str]:
  """11 left / 8 right for 19 subjects, proportionally otherwise."""
  n_left = int(round(num_subjects * 11 / 19))
  sides = ["left"] * n_left + ["right"] * (num_subjects - n_left)
  return [sides[i] for i in rng.permutation(num_subjects)]


def _self_selected_speed(rng: np.random.Generator, severity: float) -> float:
  """0.40..0.85 m/s on a 0.05 grid, never one of the base speeds."""
  v = 0.9 - 0.5 * severity + 0.08 * rng.standard_normal()
  v = float(np.clip(round(v / 0.05) * 0.05, 0.4, 0.85))
  if abs(v - 0.6) < 1e-9:
    v = 0.55 if rng.uniform() < 0.5 else 0.65
  return round(v, 2)


def make_stroke_cohort(seed: int = 1, num_subjects: int = 19,
                       duration_s: float = 32.0, rate_hz: float = 200.0,
                       *, recording: int = 0,
                       speeds: Optional[Sequence[float]] = None,
                       subject_prefix: str = "ST",
                       speed_correction: Optional[SpeedCorrection] = None
                       ) -> List[Trial]:
  """Stroke-like treadmill cohort: 0.3/0.6/0.9/1.2 m/s + self-selected.

  Args:
    seed: cohort seed; the same seed gives identical arrays.
    num_subjects: subjects 'ST01', ...; paretic sides 11 left : 8 right
      (scaled proportionally for other counts).
    duration_s: seconds per trial.
    rate_hz: sampling rate.
    recording: 0 = the cohort; k > 0 = an independent repeat recording.
    speeds: m/s; None = the paper's protocol (the four base speeds and one
      self-selected speed per subject); else every subject at these speeds
      (a training population, STROKE_POPULATION_SPEEDS).
    subject_prefix: subject names are prefix + number ('ST01', ...).
    speed_correction: as make_able_bodied_cohort.

  Returns:
    list of Trial, one per subject and speed (base speeds ascending, then
    the self-selected one); cohort 'stroke', paretic_side set. The subjects
    (traits, paretic side, severity) depend on seed and index only, not on
    speeds or subject_prefix.
  """
  given = None if speeds is None else tuple(round(float(v), 2)
                                            for v in speeds)
  _check_args(seed, recording, num_subjects, duration_s, rate_hz,
              _STROKE_BASE_SPEEDS if given is None else given)
  rng = np.random.default_rng([seed, _COHORT_TAG["stroke"], 10 ** 6])
  sides = _paretic_sides(rng, num_subjects)
  severities = rng.beta(2.0, 2.0, size=num_subjects)
  trials = []
  for i in range(num_subjects):
    subj = _draw_subject(seed, "stroke", i, sides[i], severities[i],
                         prefix=subject_prefix,
                         speed_correction=speed_correction)
    v_self = _self_selected_speed(rng, severities[i])
    for v in (_STROKE_BASE_SPEEDS + (v_self,) if given is None else given):
      trials.append(Trial(subject=subj.name, speed_mps=v,
                          angles=_record(subj, v, seed, recording,
                                         duration_s, rate_hz),
                          rate_hz=rate_hz, cohort="stroke",
                          paretic_side=sides[i], origin="synthetic"))
  return trials


# ------------------------------------------------- oracle: bound and repeat
def subject(name: str, *, cohort: str = "able_bodied", seed: int,
            num_subjects: Optional[int] = None,
            speed_response: str = "correlated",
            subject_prefix: Optional[str] = None,
            speed_correction: Optional[SpeedCorrection] = None) -> _Subject:
  """The persistent parameters of a generated subject, from its name.

  Args:
    name: e.g. 'AB07' (prefix + 1-based number).
    cohort: 'able_bodied' | 'stroke'.
    seed, speed_response, subject_prefix, speed_correction: as given to the
      cohort maker.
    num_subjects: the stroke cohort's size (paretic sides and severities
      are drawn for the whole cohort); unused for able-bodied.

  Raises:
    ConfigError: a name that the cohort cannot have made.
  """
  prefix = subject_prefix or ("ST" if cohort == "stroke" else "AB")
  number = name[len(prefix):]
  if not name.startswith(prefix) or not number.isdigit() or int(number) < 1:
    raise ConfigError(f"synthetic subject {name!r}: expected {prefix} and "
                      f"a number")
  index = int(number) - 1
  if cohort == "able_bodied":
    return _draw_subject(seed, cohort, index, speed_response=speed_response,
                         prefix=prefix, speed_correction=speed_correction)
  if cohort != "stroke" or not num_subjects or index >= num_subjects:
    raise ConfigError(f"synthetic subject {name!r}: cohort {cohort!r} with "
                      f"{num_subjects} subjects cannot have it")
  rng = np.random.default_rng([seed, _COHORT_TAG["stroke"], 10 ** 6])
  sides = _paretic_sides(rng, num_subjects)
  severities = rng.beta(2.0, 2.0, size=num_subjects)
  return _draw_subject(seed, "stroke", index, sides[index],
                       severities[index], prefix=prefix,
                       speed_correction=speed_correction)


def repeat_trial(subj: _Subject, v: float, *, seed: int, recording: int = 1,
                 duration_s: float = 32.0, rate_hz: float = 200.0) -> Trial:
  """An independent recording (``recording`` > 0) of subj at speed v."""
  if recording < 1:
    raise ConfigError(f"repeat_trial: recording must be >= 1 (0 is the "
                      f"cohort's own), got {recording}")
  return Trial(subject=subj.name, speed_mps=float(v),
               angles=_record(subj, float(v), seed, recording, duration_s,
                              rate_hz),
               rate_hz=rate_hz, cohort=subj.cohort,
               paretic_side=subj.paretic_side, origin="synthetic")


def knowable_trial(subj: _Subject, v_src: float, v_tgt: float, *,
                   duration_s: float = 32.0, rate_hz: float = 200.0
                   ) -> Trial:
  """The oracle bound: what a recording at v_src could reveal, at v_tgt.

  Noise-free gait of subj at v_tgt predicted from everything knowable:

  * known: the subject's noise-free cycle at the source speed (coef0 +
    u_s coef_u, timing warp, side gains and shapes, offsets, left/right
    lag, stance fraction at v_src, cadence at v_src) and the part of its
    speed response predicted by its traits, E[coef_u | traits] =
    side gain x E[mult | z_gain] x population change (``coef_u_known``;
    E[mult | z_gain] = 1 + 0.125 z_gain when correlated, 1 when not).
  * not known, set to conditional means: the rest of the multiplier,
    shape_u and offset_u (0), the stance-slope deviation (slope x 1) and
    the cadence-exponent deviation (population exponent), and every
    per-recording draw (phase, stride jitter, drifts, noise).

  So cycle(v_tgt) = cycle(v_src) + (u_t - u_s) coef_u_known (the
  population push-off and, for stroke, the paretic bumps at v_tgt), stance
  = stance(v_src) - 0.030 ln(v_tgt / v_src), cadence = cadence(v_src) x
  (C(v_tgt) / C(v_src)) ** (e / 0.52) with e the cohort's mean exponent
  (0.52 able-bodied, 0.45 stroke). At v_tgt = v_src it is the subject's
  exact noise-free gait. Phase 0 at t = 0 (the metrics match cycles).

  Returns:
    Trial at ``rate_hz`` (preprocess it like any trial).
  """
  v_src, v_tgt = float(v_src), float(v_tgt)
  u_s = channel_speed_features(v_src)[:, None]
  known = (subj.coef_u if subj.coef_u_known is None else subj.coef_u_known)
  pred = dataclasses.replace(subj, coef0=subj.coef0 + u_s * (subj.coef_u
                                                             - known),
                             coef_u=known)
  slope_s = -_STANCE_SLOPE * subj.stance_slope * np.log(
      v_src / _ANCHOR_COMF_MPS)
  stance = tuple(float(np.clip(0.618 + slope_s + d
                               - _STANCE_SLOPE * np.log(v_tgt / v_src),
                               0.5, 0.78))
                 for d in subj.stance_shift)
  cad_s = _CAD_REF * subj.cad_gain * (population_cadence(v_src) / _CAD_REF
                                      ) ** (subj.cad_exp / _CAD_EXP)
  exp_mean = 0.45 if subj.cohort == "stroke" else _CAD_EXP
  cadence = cad_s * (population_cadence(v_tgt) / population_cadence(v_src)
                     ) ** (exp_mean / _CAD_EXP)
  tables = _cycle_tables(pred, v_tgt, stance)
  n = int(round(duration_s * rate_hz))
  phi_r = np.arange(n) / rate_hz * cadence / 120.0
  grid = np.linspace(0.0, 1.0, _GRID + 1)
  out = np.empty((n, constants.NUM_CHANNELS))
  for ph, chans in ((phi_r, constants.RIGHT),
                    (phi_r - subj.lr_offset, constants.LEFT)):
    for ch in chans:
      out[:, ch] = np.interp(ph % 1.0, grid, tables[ch])
  return Trial(subject=subj.name, speed_mps=v_tgt, angles=out,
               rate_hz=rate_hz, cohort=subj.cohort,
               paretic_side=subj.paretic_side, origin="synthetic-bound")
