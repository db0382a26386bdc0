r"""Fit the synthetic generator's speed trends to a real cohort (issue 17).

The generator's own population speed change is one person's (WBDS01) with a
few literature-based trends (gaitjax/data/synthetic.py). This module fits a
``synthetic.SpeedCorrection``: a population correction of the joint curves
that makes the synthetic cohort's change of mean cycle between the slow,
middle and fast bands equal the real cohort's, as
``gaitjax/eval/cohort_compare.py`` measures it.

How
---
1. Real band levels. Per channel and cycle point, each real person's mean
   cycle in band b is modelled as person level + g_b, with g_middle = 0,
   fitted by least squares over the (person, band) cells present: a person
   missing a band still informs the others (within-person changes only, as
   the cycle template's speed curve does, gaitjax/data/reference.py).
2. Synthetic band levels, the same way, from a generated cohort at the real
   bands' mean speeds.
3. Residual g_real - g_syn per band (slow, fast), the right and left legs
   averaged per joint (the generator's population is symmetric), the
   ``level_free`` joints' cycle means removed (the hip's: the real hip is
   thigh-to-vertical, cohort_compare's docstring), moved from the detected
   cycle's phase (which starts at the hip-based boundary) to the leg phase
   (0 = heel strike) by the boundary's mean phase in noise-free synthetic
   trials at that speed, and fitted with the generator's 6 harmonics.
4. Add the residual to the correction and repeat (``iterations``): subject
   multipliers, timing warps and the cycle detection make the generated
   change respond to the correction a little differently from one.

Fitting on a subset of the real people (``fit_speed_correction(real.
without(p))``) and checking on p is the leave-one-person-out check of
``held_out_check``.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import reference
from gaitjax.data import synthetic
from gaitjax.errors import DataError
from gaitjax.eval import cohort_compare as cc
from gaitjax.gait.cycles import NUM_POINTS

_FIT_BANDS: Tuple[str, str] = ("slow", "fast")
_PHASE = np.arange(NUM_POINTS) / (NUM_POINTS - 1)


def band_levels(c: cc.CohortCycles) -> Dict[str, np.ndarray]:
  """{band: [6, 101]} population level of each band minus the middle's.

  Least squares y[s, b] = a[s] + g[b] over the present cells, g_middle = 0.

  Raises:
    DataError: a band no subject who also walked another band walked.
  """
  cyc = np.asarray(c.cycles, np.float64)            # [S, B, 6, P]
  present = np.all(np.isfinite(cyc), axis=(2, 3))   # [S, B]
  present &= present.sum(axis=1, keepdims=True) >= 2
  mid = cc.BAND_NAMES.index("middle")
  others = [b for b in range(len(cc.BAND_NAMES)) if b != mid]
  for b in range(len(cc.BAND_NAMES)):
    if not present[:, b].any():
      raise DataError(f"cohort {c.name!r}: no subject walked the "
                      f"{cc.BAND_NAMES[b]} band {cc.BANDS[cc.BAND_NAMES[b]]} "
                      f"m/s and another band")
  rows, targets = [], []
  num_s = cyc.shape[0]
  for s in range(num_s):
    for b in range(len(cc.BAND_NAMES)):
      if not present[s, b]:
        continue
      design = np.zeros(num_s + len(others))
      design[s] = 1.0
      if b != mid:
        design[num_s + others.index(b)] = 1.0
      rows.append(design)
      targets.append(cyc[s, b].reshape(-1))
  a = np.stack(rows)
  y = np.stack(targets)
  keep = a.any(axis=0)
  coef = np.linalg.lstsq(a[:, keep], y, rcond=None)[0]
  full = np.zeros((a.shape[1], y.shape[1]))
  full[keep] = coef
  return {cc.BAND_NAMES[b]: full[num_s + i].reshape(6, NUM_POINTS)
          for i, b in enumerate(others)}


def detected_phase_offset(v: float, num_subjects: int = 8,
                          seed: int = 0) -> float:
  """Mean leg phase (cycles) of the hip-detected cycle start at speed v.

  From noise-free synthetic trials (``knowable_trial``, phase 0 at t = 0),
  both legs; the circular mean, in [-0.5, 0.5).
  """
  angles = []
  for i in range(num_subjects):
    # Without any correction, so the fit does not depend on the default.
    subj = dataclasses.replace(synthetic.subject(f"AB{i + 1:02d}", seed=seed),
                               speed_correction=None)
    trial = synthetic.knowable_trial(subj, v, v, duration_s=30.0,
                                     rate_hz=constants.RATE_HZ)
    info = reference.cycle_info(trial.angles, constants.RATE_HZ)
    for side, lag in (("right", 0.0), ("left", subj.lr_offset)):
      b = info.boundaries[side]
      if b.size < 2:
        continue
      period = float(np.mean(np.diff(b)))
      angles.append(2 * np.pi * (b[0] / period + lag))
  if not angles:
    raise DataError(f"no cycles detected in synthetic trials at {v} m/s")
  mean = np.angle(np.mean(np.exp(1j * np.asarray(angles)))) / (2 * np.pi)
  return float((mean + 0.5) % 1.0 - 0.5)


def _leg_phase_coefs(residual: np.ndarray, offset: float) -> np.ndarray:
  """[3, 101] on the detected phase -> [3, 1 + 2K] Fourier on leg phase.

  Detected phase p = leg phase - offset, so the leg-phase curve at phase
  q is the residual at q - offset.
  """
  leg_phase = (_PHASE[:-1] + offset) % 1.0
  basis = synthetic._fourier_basis(leg_phase)   # pylint: disable=protected-access
  return np.linalg.lstsq(basis, residual[:, :-1].T, rcond=None)[0].T


def synthetic_cycles(correction: synthetic.SpeedCorrection,
                     band_speeds: Dict[str, float], *, num_subjects: int = 48,
                     seed: int = 0) -> cc.CohortCycles:
  """Mean cycles of a generated able-bodied cohort at the band speeds."""
  speeds = [round(float(v), 2) for v in band_speeds.values() if v == v]
  trials = synthetic.make_able_bodied_cohort(
      seed=seed, num_subjects=num_subjects, speeds=speeds, duration_s=32.0,
      rate_hz=100.0, speed_correction=correction)
  return cc.cohort_cycles(trials, "synthetic", band_speeds=band_speeds)


def fit_speed_correction(real: cc.CohortCycles, *, iterations: int = 3,
                         num_subjects: int = 48, seed: int = 0,
                         joints: Sequence[str] = cc.LEVEL_FREE_DEFAULT
                         ) -> synthetic.SpeedCorrection:
  """The SpeedCorrection that makes the generator change like ``real``.

  Args:
    real: the real cohort's mean cycles (cohort_compare.cohort_cycles).
    iterations: fit-generate rounds (module docstring, step 4).
    num_subjects, seed: the generated cohort used in each round.
    joints: joints whose cycle-mean change is not fitted (convention).

  Returns:
    SpeedCorrection anchored at the real bands' mean speeds (2 decimals).
  """
  band_speeds = real.band_speeds()
  anchors = tuple(round(band_speeds[b], 2) for b in cc.BAND_NAMES)
  if not all(np.isfinite(anchors)):
    raise DataError(f"cohort {real.name!r}: needs trials in every band "
                    f"{cc.BANDS} m/s to fit a speed correction")
  target = band_levels(real)
  offsets = {b: detected_phase_offset(band_speeds[b], seed=seed)
             for b in _FIT_BANDS}
  coefs = {b: np.zeros((3, 1 + 2 * synthetic._HARMONICS))  # pylint: disable=protected-access
           for b in _FIT_BANDS}
  for _ in range(iterations):
    correction = synthetic.SpeedCorrection(anchors, coefs["slow"],
                                           coefs["fast"])
    got = band_levels(synthetic_cycles(correction, band_speeds,
                                       num_subjects=num_subjects, seed=seed))
    for b in _FIT_BANDS:
      residual = cc.legs_averaged(cc.level_free(target[b] - got[b], joints))
      coefs[b] = coefs[b] + _leg_phase_coefs(residual, offsets[b])
  return synthetic.SpeedCorrection(anchors, coefs["slow"], coefs["fast"])


@dataclasses.dataclass(frozen=True)
class HeldOutRow:
  """One real person p held out of the fit, one band pair (deg per channel).

  Attributes:
    person, a, b: p and the band pair.
    fitted_vs_person: the change of the generator fitted without p vs p's
      own change.
    others_vs_person: the other people's (real) population change vs p's
      own change: the best a population-level change can do for p.
    default_vs_person: the uncorrected generator's change vs p's own.
  """
  person: str
  a: str
  b: str
  fitted_vs_person: np.ndarray
  others_vs_person: np.ndarray
  default_vs_person: np.ndarray


def held_out_check(real: cc.CohortCycles, *, iterations: int = 3,
                   num_subjects: int = 48, seed: int = 0,
                   joints: Sequence[str] = cc.LEVEL_FREE_DEFAULT
                   ) -> List[HeldOutRow]:
  """Fit on all people but p, check on p; every p with >= 2 bands."""
  band_speeds = real.band_speeds()
  uncorrected = synthetic_cycles(synthetic.SpeedCorrection.zero(),
                                 band_speeds, num_subjects=num_subjects,
                                 seed=seed)
  rows = []
  for p in real.subjects:
    rest = real.without(p)
    corr = fit_speed_correction(rest, iterations=iterations,
                                num_subjects=num_subjects, seed=seed,
                                joints=joints)
    fitted = synthetic_cycles(corr, band_speeds, num_subjects=num_subjects,
                              seed=seed)
    for a, b in cc.BAND_PAIRS:
      names, own = cc.subject_changes(real, a, b)
      if p not in names:
        continue
      mine = cc.level_free(own[names.index(p)], joints)

      def vs(cohort):
        return cc.channel_mad(
            cc.level_free(cc.population_change(cohort, a, b), joints), mine)

      rows.append(HeldOutRow(p, a, b, vs(fitted), vs(rest), vs(uncorrected)))
  return rows


def format_held_out(rows: Sequence[HeldOutRow]) -> str:
  """Markdown: per band pair, the mean over held-out people per channel."""
  head = "| " + " | ".join(constants.CHANNELS) + " |"
  lines = ["### Fitted without the person, checked on the person "
           "(deg per channel, mean over people)", "",
           "| pair | n | what " + head, "|---" * 9 + "|"]
  for a, b in cc.BAND_PAIRS:
    sel = [r for r in rows if (r.a, r.b) == (a, b)]
    if not sel:
      continue
    for what in ("fitted_vs_person", "others_vs_person",
                 "default_vs_person"):
      m = np.mean([getattr(r, what) for r in sel], axis=0)
      lines.append(f"| {a}->{b} | {len(sel)} | {what} | "
                   + " | ".join(f"{x:.2f}" for x in m) + " |")
  return "\n".join(lines) + "\n"


def correction_source(corr: synthetic.SpeedCorrection,
                      name: str = "DEFAULT_SPEED_CORRECTION") -> str:
  """Python source of ``corr`` for synthetic.py's parameter table."""
  def block(x: np.ndarray) -> str:
    rows = []
    for j, joint in enumerate(constants.JOINTS):
      vals = [f"{v:.2f}" for v in x[j]]
      first, rest = ", ".join(vals[:7]), ", ".join(vals[7:])
      rows.append(f"        # {joint}\n        [{first},\n         {rest}],")
    return "\n".join(rows)
  return (f"{name} = SpeedCorrection(\n"
          f"    anchors_mps={tuple(float(a) for a in corr.anchors_mps)},\n"
          f"    slow=np.array([\n{block(np.asarray(corr.slow))}\n    ]),\n"
          f"    fast=np.array([\n{block(np.asarray(corr.fast))}\n    ]))\n")
