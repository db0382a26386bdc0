r"""Does a cohort change its gait with speed like another one (issue 17)?

For two cohorts (e.g. the synthetic generator and the 8 real people of
../shared/data/fukuchi2018/wbds_multispeed), every trial is resampled to
20 Hz (``preprocess.resample``, as the model sees it) and cut into gait
cycles with the project's own detection (``reference.cycle_info``: hip-
extension peaks + 50 %, each side on its own hip). A subject's mean cycle in
a speed band (slow ~0.5, middle ~1.0, fast ~1.5 m/s) is the mean over its
trials in that band; where a cohort has several trials of one subject in a
band (a synthetic build at 0.05 m/s steps), only those closest to the band's
``band_speeds`` are used, so two cohorts are compared at matching speeds.

What is compared: CHANGES, never levels
---------------------------------------
The population change from band a to band b is the mean over the subjects
who walked both bands of their own change, cycle_b - cycle_a: [6, 101]
(paired, so a person missing a band does not bias it, and constant offsets
cancel within each person). The real set's hip is thigh-to-vertical and
zeroed to standing, its knee is not zeroed, the synthetic hip is pelvis-
relative (OpenSim): these offsets differ by design and drop out of a change.
What does not drop out is the change of the pelvic-tilt oscillation with
speed, which the real (thigh) hip carries and a pelvis-relative hip does not;
it has two parts. (1) The tilt's oscillation adds 2-4 deg to the thigh's
range (wbds_multispeed README); its growth with speed is left in the hip
rows. (2) The mean pelvic posture changes with speed, which moves the
thigh's cycle mean but not a pelvis-relative hip's: for WBDS01, the one
person with both conventions in ../shared/data/fukuchi2018, the pelvis-
relative hip mean is 20.9 deg at T01 (0.49 m/s) and 20.9 at T05 (1.22 m/s)
(WBDS01walkT0{1,5}ang_sagittal.csv, right leg; left 19.6 -> 19.9), while its
thigh-to-vertical mean rises 1.4-1.7 deg from T01 to T04 (1.03 m/s). So by
default (``joints=("hip",)``) the hip's change is compared without its
cycle mean (the change minus its mean over the cycle); the dropped part is
reported as ``level_syn`` / ``level_real`` so it stays visible. Knee and
ankle keep their level changes (both cohorts use the same joint-angle
definitions there; the knee's standing offset is constant per person and
cancels). The per-channel disagreement is the mean absolute difference over
the cycle of the two population changes (deg):

    d_c(a -> b) = mean_t | change_syn[c, t] - change_real[c, t] |.

Leave one person out (LOPO)
---------------------------
The synthetic generator is not fitted per fold, so "fit on 7, check on the
8th" reads: for each real person p, the reference is the change of the other
7 (``R_-p``), and two numbers are reported per channel:

* ``syn_vs_7``: d(synthetic change, R_-p): does the synthetic population
  agree with a real reference it could not have been tuned on person p's
  data for (the calibration used all 8, so this mostly shows how much one
  person moves the reference);
* ``person_vs_7``: d(person p's own change, R_-p): the real between-person
  scatter, the scale against which ``syn_vs_7`` is judged. A synthetic
  population whose disagreement with R_-p is well inside that scatter is as
  close to the real population as one more real person would be.

A person without one of the two bands has no own change (NaN), and R_-p is
then the full reference.

Functions are pure (no file output) except ``plot_comparison`` and
``load_folder_cohort``; the launch script is launch/compare_cohorts.py.
"""
import dataclasses
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.data import reference
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError
from gaitjax.gait.cycles import NUM_POINTS

PathLike = Union[str, os.PathLike]

# Speed bands (m/s, [lo, hi)) around Fukuchi 2018's T01 (0.43-0.53), T04
# (0.92-1.12) and T07 (1.40-1.71) trials, wide enough for other cohorts.
BANDS: Dict[str, Tuple[float, float]] = {
    "slow": (0.30, 0.75), "middle": (0.75, 1.25), "fast": (1.25, 2.00)}
BAND_NAMES: Tuple[str, ...] = tuple(BANDS)
BAND_PAIRS: Tuple[Tuple[str, str], ...] = (
    ("slow", "middle"), ("slow", "fast"), ("middle", "fast"))
# Trials within this many m/s of the closest one to a band speed count.
_SPEED_TOL = 0.026


# ------------------------------------------------------------ cohort cycles
@dataclasses.dataclass(frozen=True)
class CohortCycles:
  """Mean gait cycles of one cohort per subject and speed band.

  Attributes:
    name: label for tables and figures.
    subjects: S subject names.
    cycles: [S, B, 6, 101] mean cycle (deg) per subject and band (B =
      len(BAND_NAMES)); NaN where a subject has no trial in a band.
    speeds: [S, B] mean speed (m/s) of the trials used; NaN where absent.
  """
  name: str
  subjects: Tuple[str, ...]
  cycles: np.ndarray
  speeds: np.ndarray

  def band_speed(self, band: str) -> float:
    """Mean speed (m/s) of the band over the subjects who walked it."""
    s = self.speeds[:, BAND_NAMES.index(band)]
    return float(np.nanmean(s)) if np.isfinite(s).any() else float("nan")

  def band_speeds(self) -> Dict[str, float]:
    return {b: self.band_speed(b) for b in BAND_NAMES}

  def without(self, subject: str) -> "CohortCycles":
    """The cohort less one subject."""
    keep = [i for i, s in enumerate(self.subjects) if s != subject]
    return CohortCycles(self.name, tuple(self.subjects[i] for i in keep),
                        self.cycles[keep], self.speeds[keep])


def band_of(speed: float) -> Optional[str]:
  """The band holding ``speed`` m/s, or None."""
  for name, (lo, hi) in BANDS.items():
    if lo <= speed < hi:
      return name
  return None


def trial_mean_cycle(angles: np.ndarray, rate_hz: float,
                     where: str) -> np.ndarray:
  """Mean cycle of one recording at 20 Hz: angles [T, 6] -> [6, 101] deg.

  Raises DataError (naming ``where``) when a side has no complete cycle.
  """
  preprocess.check_plausible(angles, where)
  x = angles if rate_hz == constants.RATE_HZ else preprocess.resample(
      angles, rate_hz, constants.RATE_HZ)
  info = reference.cycle_info(x, constants.RATE_HZ)
  if not np.all(np.isfinite(info.mean)):
    raise DataError(f"{where}: no complete gait cycle detected on a hip")
  return info.mean


def _pick(speeds: Sequence[float], target: Optional[float]) -> List[int]:
  """Indices of the speeds to use in a band: all, or those nearest target."""
  if target is None or not np.isfinite(target):
    return list(range(len(speeds)))
  d = np.abs(np.asarray(speeds) - target)
  return [i for i in range(len(speeds)) if d[i] <= d.min() + _SPEED_TOL]


def cohort_cycles(trials: Sequence[Trial], name: str, *,
                  band_speeds: Optional[Mapping[str, float]] = None
                  ) -> CohortCycles:
  """Per-subject mean cycles per speed band.

  Args:
    trials: any rate, degrees, canonical channels; trials outside every band
      are ignored.
    name: the cohort's label.
    band_speeds: {band: m/s}; where a subject has several speeds in a band,
      only those nearest this speed are used (match another cohort).

  Raises:
    DataError: no trial in any band, or a trial without cycles.
  """
  per: Dict[str, Dict[str, List[Tuple[float, np.ndarray]]]] = {}
  for t in trials:
    band = band_of(t.speed_mps)
    if band is None:
      continue
    where = t.origin if t.origin not in (None, "", "synthetic") else (
        f"{name} subject {t.subject} at {t.speed_mps} m/s")
    per.setdefault(t.subject, {}).setdefault(band, []).append(
        (float(t.speed_mps), trial_mean_cycle(t.angles, t.rate_hz, where)))
  if not per:
    raise DataError(f"cohort {name!r}: no trial has a speed in the bands "
                    f"{BANDS} m/s")
  subjects = tuple(sorted(per))
  cyc = np.full((len(subjects), len(BAND_NAMES), 6, NUM_POINTS), np.nan)
  spd = np.full((len(subjects), len(BAND_NAMES)), np.nan)
  for i, s in enumerate(subjects):
    for j, band in enumerate(BAND_NAMES):
      items = per[s].get(band)
      if not items:
        continue
      target = None if band_speeds is None else band_speeds.get(band)
      use = _pick([v for v, _ in items], target)
      spd[i, j] = np.mean([items[k][0] for k in use])
      cyc[i, j] = np.mean([items[k][1] for k in use], axis=0)
  return CohortCycles(name, subjects, cyc, spd)


def trials_from_arrays(x: np.ndarray, speed: np.ndarray,
                       subject: Sequence[str], rate_hz: float = 20.0,
                       origin: str = "built") -> List[Trial]:
  """x: [N, T, 6] (a built TrialSet's arrays) -> N Trials."""
  return [Trial(subject=str(s), speed_mps=float(v),
                angles=np.asarray(xi, np.float64), rate_hz=rate_hz,
                origin=f"{origin} {s} at {float(v):g} m/s")
          for xi, v, s in zip(x, speed, subject)]


def load_folder_cohort(root: PathLike, name: str = "real", *,
                       band_speeds: Optional[Mapping[str, float]] = None
                       ) -> CohortCycles:
  """``cohort_cycles`` of a folder-format dataset (readers.read_folder)."""
  from gaitjax.data import readers  # pylint: disable=g-import-not-at-top
  return cohort_cycles(readers.read_folder(root), name,
                       band_speeds=band_speeds)


# ------------------------------------------------------------------ changes
def subject_changes(c: CohortCycles, a: str, b: str
                    ) -> Tuple[Tuple[str, ...], np.ndarray]:
  """Each subject's own change a -> b: (names, [S_ab, 6, 101])."""
  ia, ib = BAND_NAMES.index(a), BAND_NAMES.index(b)
  d = c.cycles[:, ib] - c.cycles[:, ia]
  ok = np.all(np.isfinite(d), axis=(1, 2))
  return tuple(s for s, k in zip(c.subjects, ok) if k), d[ok]


def population_change(c: CohortCycles, a: str, b: str) -> np.ndarray:
  """Mean over subjects with both bands of cycle_b - cycle_a: [6, 101].

  Raises DataError when no subject walked both bands.
  """
  names, d = subject_changes(c, a, b)
  if not names:
    raise DataError(f"cohort {c.name!r}: no subject has trials in both the "
                    f"{a} {BANDS[a]} and {b} {BANDS[b]} m/s bands")
  return d.mean(axis=0)


def legs_averaged(c: np.ndarray) -> np.ndarray:
  """[..., 6, P] -> [..., 3, P]: right and left legs averaged per joint."""
  return 0.5 * (c[..., :3, :] + c[..., 3:, :])


def channel_mad(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """Per-channel mean |x - y| over the cycle: [6, 101] x2 -> [6] deg."""
  return np.abs(np.asarray(x) - np.asarray(y)).mean(axis=-1)


# Joints whose cycle-mean change is convention-dependent (see docstring).
LEVEL_FREE_DEFAULT: Tuple[str, ...] = ("hip",)


def level_free(change: np.ndarray,
               joints: Sequence[str] = LEVEL_FREE_DEFAULT) -> np.ndarray:
  """change: [..., 6, 101] -> the same with ``joints``' cycle means removed."""
  out = np.array(change, dtype=np.float64, copy=True)
  for ch in range(constants.NUM_CHANNELS):
    if constants.joint_of(ch) in joints:
      out[..., ch, :] -= out[..., ch, :].mean(axis=-1, keepdims=True)
  return out


@dataclasses.dataclass(frozen=True)
class PairComparison:
  """One band pair a -> b of two cohorts (``syn`` vs ``real``).

  Attributes:
    a, b: band names.
    change_syn, change_real: [6, 101] population changes (deg), with the
      ``level_free`` joints' cycle means removed.
    level_syn, level_real: [6] signed cycle-mean changes (deg), before
      removal (what ``level_free`` drops for its joints).
    size_syn, size_real: [6] mean |change| over the cycle (deg).
    diff: [6] mean |change_syn - change_real| over the cycle (deg).
    spread_syn, spread_real: [6] between-subject scatter of the change:
      mean over subjects of mean_t |own change - population change| (deg).
    n_syn, n_real: subjects with both bands.
  """
  a: str
  b: str
  change_syn: np.ndarray
  change_real: np.ndarray
  level_syn: np.ndarray
  level_real: np.ndarray
  size_syn: np.ndarray
  size_real: np.ndarray
  diff: np.ndarray
  spread_syn: np.ndarray
  spread_real: np.ndarray
  n_syn: int
  n_real: int


def _spread(c: CohortCycles, a: str, b: str,
            joints: Sequence[str]) -> np.ndarray:
  _, d = subject_changes(c, a, b)
  d = level_free(d, joints)
  return np.abs(d - d.mean(axis=0)).mean(axis=(0, 2))


def compare_pair(syn: CohortCycles, real: CohortCycles, a: str, b: str, *,
                 joints: Sequence[str] = LEVEL_FREE_DEFAULT
                 ) -> PairComparison:
  """Population changes a -> b of both cohorts and their difference.

  ``joints``: whose cycle-mean change is dropped (module docstring).
  """
  rs, rr = population_change(syn, a, b), population_change(real, a, b)
  cs, cr = level_free(rs, joints), level_free(rr, joints)
  zero = np.zeros_like(cs)
  return PairComparison(
      a=a, b=b, change_syn=cs, change_real=cr, level_syn=rs.mean(axis=-1),
      level_real=rr.mean(axis=-1), size_syn=channel_mad(cs, zero),
      size_real=channel_mad(cr, zero), diff=channel_mad(cs, cr),
      spread_syn=_spread(syn, a, b, joints),
      spread_real=_spread(real, a, b, joints),
      n_syn=len(subject_changes(syn, a, b)[0]),
      n_real=len(subject_changes(real, a, b)[0]))


def compare(syn: CohortCycles, real: CohortCycles,
            pairs: Sequence[Tuple[str, str]] = BAND_PAIRS, *,
            joints: Sequence[str] = LEVEL_FREE_DEFAULT
            ) -> List[PairComparison]:
  """``compare_pair`` for every band pair in ``pairs``."""
  return [compare_pair(syn, real, a, b, joints=joints) for a, b in pairs]


@dataclasses.dataclass(frozen=True)
class LopoRow:
  """Leave person p out, one band pair (see the module docstring).

  Attributes:
    person, a, b: the held-out real person and the band pair.
    syn_vs_7: [6] mean |synthetic change - change of the others| (deg).
    person_vs_7: [6] mean |p's own change - change of the others| (deg);
      NaN when p lacks a band.
    syn_vs_person: [6] mean |synthetic change - p's own change| (deg).
  """
  person: str
  a: str
  b: str
  syn_vs_7: np.ndarray
  person_vs_7: np.ndarray
  syn_vs_person: np.ndarray


def leave_one_out(syn: CohortCycles, real: CohortCycles,
                  pairs: Sequence[Tuple[str, str]] = BAND_PAIRS, *,
                  joints: Sequence[str] = LEVEL_FREE_DEFAULT
                  ) -> List[LopoRow]:
  """One LopoRow per real person and band pair (changes as in compare)."""
  rows = []
  for a, b in pairs:
    cs = level_free(population_change(syn, a, b), joints)
    names, own = subject_changes(real, a, b)
    own = level_free(own, joints)
    for p in real.subjects:
      rest = level_free(population_change(real.without(p), a, b), joints)
      if p in names:
        mine = own[names.index(p)]
        pv7, svp = channel_mad(mine, rest), channel_mad(cs, mine)
      else:
        pv7 = svp = np.full(6, np.nan)
      rows.append(LopoRow(p, a, b, channel_mad(cs, rest), pv7, svp))
  return rows


# ------------------------------------------------------------------ report
def _fmt(v: np.ndarray) -> str:
  return " | ".join("n/a" if not np.isfinite(x) else f"{x:.2f}" for x in v)


def format_report(syn: CohortCycles, real: CohortCycles,
                  comps: Sequence[PairComparison],
                  lopo: Sequence[LopoRow]) -> str:
  """Markdown tables: band speeds, per-pair changes, LOPO rows."""
  head = "| " + " | ".join(constants.CHANNELS) + " |"
  lines = [f"## {syn.name} vs {real.name}: change of mean cycle with speed",
           "", "| band | " + f"{syn.name} m/s | {real.name} m/s |",
           "|---|---|---|"]
  for band in BAND_NAMES:
    lines.append(f"| {band} | {syn.band_speed(band):.2f} | "
                 f"{real.band_speed(band):.2f} |")
  for c in comps:
    lines += ["", f"### {c.a} -> {c.b} ({syn.name} n={c.n_syn}, "
              f"{real.name} n={c.n_real}), deg, mean |.| over the cycle", "",
              "| quantity " + head, "|---" * 7 + "|",
              f"| {syn.name} change | {_fmt(c.size_syn)} |",
              f"| {real.name} change | {_fmt(c.size_real)} |",
              f"| **{syn.name} - {real.name}** | {_fmt(c.diff)} |",
              f"| {syn.name} cycle-mean change (signed) | "
              f"{_fmt(c.level_syn)} |",
              f"| {real.name} cycle-mean change (signed) | "
              f"{_fmt(c.level_real)} |",
              f"| {syn.name} between-subject spread | "
              f"{_fmt(c.spread_syn)} |",
              f"| {real.name} between-subject spread | "
              f"{_fmt(c.spread_real)} |"]
  lines += ["", "### Leave one real person out (deg per channel)", "",
            "syn_vs_7: synthetic change vs the other people's change; "
            "person_vs_7: the held-out person's own change vs the others' "
            "(the real between-person scatter).", "",
            "| pair | person | what " + head, "|---" * 9 + "|"]
  for r in lopo:
    for what, v in (("syn_vs_7", r.syn_vs_7),
                    ("person_vs_7", r.person_vs_7)):
      lines.append(f"| {r.a}->{r.b} | {r.person} | {what} | {_fmt(v)} |")
  return "\n".join(lines) + "\n"


def lopo_summary(lopo: Sequence[LopoRow]) -> Dict[str, Dict[str, float]]:
  """Per band pair: max syn_vs_7 and median person_vs_7 over all channels."""
  out: Dict[str, Dict[str, float]] = {}
  for r in lopo:
    key = f"{r.a}->{r.b}"
    d = out.setdefault(key, {"syn_vs_7_max": 0.0, "_p": []})
    d["syn_vs_7_max"] = max(d["syn_vs_7_max"], float(np.max(r.syn_vs_7)))
    d["_p"].extend(r.person_vs_7[np.isfinite(r.person_vs_7)].tolist())
  for d in out.values():
    p = d.pop("_p")
    d["person_vs_7_median"] = float(np.median(p)) if p else float("nan")
  return out


def plot_comparison(path: PathLike, syn: CohortCycles, real: CohortCycles,
                    *, joints: Sequence[str] = LEVEL_FREE_DEFAULT) -> str:
  """Mean cycles at slow / middle / fast and the slow -> fast change.

  Rows 1-3: one per band; columns: hip, knee, ankle (right and left
  averaged). Each cohort's curves are shown minus that cohort's middle-band
  cycle mean per joint (one constant per cohort and joint, the same in every
  band), so offsets that differ by convention vanish and shape and its
  change with speed remain. Row 4: the paired population change slow ->
  fast as compared (``joints``' cycle means removed), thin grey lines the
  real people's own changes. Returns the path written (PNG).
  """
  from gaitjax.eval import figures  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  fig = Figure(figsize=(12, 11))
  axes = fig.subplots(len(BAND_NAMES) + 1, 3, sharex=True)
  x = np.linspace(0, 100, NUM_POINTS)

  for c, color, ls in ((real, "0.2", "-"), (syn, "tab:red", "--")):
    jm = legs_averaged(c.cycles)                       # [S, B, 3, P]
    mid = jm[:, BAND_NAMES.index("middle")]
    level = np.nanmean(mid if np.isfinite(mid).any() else jm, axis=(0, -1))
    level = level.reshape(-1)[-3:]
    for i, band in enumerate(BAND_NAMES):
      if not np.isfinite(jm[:, i]).any():
        continue
      pop = np.nanmean(jm[:, i], axis=0)
      for j in range(3):
        axes[i, j].plot(x, pop[j] - level[j], color=color, ls=ls, lw=1.6,
                        label=f"{c.name} ({c.band_speed(band):.2f} m/s)")
    try:
      names, own = subject_changes(c, "slow", "fast")
      change = legs_averaged(level_free(population_change(c, "slow", "fast"),
                                   joints))
    except DataError:
      continue
    for j in range(3):
      if c is real:
        for d in legs_averaged(level_free(own, joints)):
          axes[-1, j].plot(x, d[j], color="0.75", lw=0.6)
      axes[-1, j].plot(x, change[j], color=color, ls=ls, lw=1.8,
                       label=f"{c.name} (n={len(names)})")
  for j, joint in enumerate(constants.JOINTS):
    axes[0, j].set_title(f"{joint} (deg minus cohort middle mean)",
                        fontsize=9)
    axes[-1, j].set_xlabel("% gait cycle (from hip-detected heel strike)")
    axes[-1, j].axhline(0.0, color="0.5", lw=0.5)
  for i, band in enumerate(BAND_NAMES):
    axes[i, 0].set_ylabel(f"{band}: deg")
    axes[i, 0].legend(fontsize=7, loc="upper right")
  axes[-1, 0].set_ylabel("change slow->fast: deg")
  axes[-1, 0].legend(fontsize=7, loc="upper right")
  return figures._save(fig, path)  # pylint: disable=protected-access
