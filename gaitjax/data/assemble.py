"""Model inputs from whole gait cycles: short trials and overground passes.

The model reads 600 samples at 20 Hz (30 s), but it needs gait cycles, not
wall-clock time. A recording shorter than that (a 10-20 s treadmill speed, or
several 3-6 stride overground passes of one subject at one speed) is turned
into a 30 s input by joining its whole cycles at matching phase:

1. every input is checked (``preprocess.check_plausible``) and resampled to a
   common working rate (``WORK_RATE_HZ``, anti-aliased, so 30 Hz and 150 Hz
   passes join on a fine grid);
2. right hip-extension peaks (``gaitjax.gait.cycles.extension_peaks``, the
   cycle landmark the metrics use) are found at sub-sample precision; each
   input contributes the stretch from its first to its last right peak, i.e.
   whole right cycles that start and end at the same phase;
3. these stretches are laid end to end, cycling through the inputs in order
   (one input: tiled onto itself), until 30 s are filled;
4. across each join the outgoing stretch (continued past its end by its own
   recording) and the incoming one (continued before its start) are
   cross-faded with a raised cosine over ``BLEND_FRACTION`` of a cycle on
   each side, so neither value nor slope jumps: the only change is the
   stride-to-stride difference between the two joined strides, spread over
   0.3 of a cycle;
5. the result is resampled to 20 Hz and cut to 600 samples.

A source is usable when its inputs hold at least ``min_cycles`` complete
cycles per side (between consecutive extension peaks of that side's hip) (5 by default: ``data.min_cycles`` in
the configs, ``GaitConfig.min_cycles`` in the builds); fewer is a one-line
``DataError`` naming the file(s) and the count found. Recordings of >= 30 s
are not assembled: their first 30 s are the input, as in the paper (II.C).

  asm = assemble.model_input([trial_a, trial_b])   # passes of one condition
  asm.x        # [600, 6] float32 degrees at 20 Hz
  asm.record   # JSON-able: inputs, cycles per side, joins, join mismatch
"""
import dataclasses
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError
from gaitjax.gait import cycles

# Rate at which cycles are cut and joined (sub-sample cuts at 20-30 Hz
# would jitter the phase by up to a few % of a cycle).
WORK_RATE_HZ: float = 200.0
# Whole cycles per side a source must hold (a config value: data.min_cycles).
DEFAULT_MIN_CYCLES: int = 5
# Half-width of the cross-fade at a join, as a fraction of the median cycle.
BLEND_FRACTION: float = 0.15
# Speeds closer than this are one condition (passes of one subject).
SPEED_DECIMALS: int = 6


@dataclasses.dataclass(frozen=True)
class Assembled:
  """A model input and how it was made.

  Attributes:
    x: [seq_len, 6] float32 degrees at the model rate.
    record: None for a >= 30 s recording used as is; else a JSON-able dict
      (inputs, cycles per side and per input, number of joins, join
      mismatch before blending vs the stride-to-stride SD).
  """
  x: np.ndarray
  record: Optional[Dict[str, Any]] = None


@dataclasses.dataclass(frozen=True)
class _Pass:
  """One input at the working rate and the stretch of it that is used."""
  x: np.ndarray          # [T, 6] float64 at WORK_RATE_HZ
  start: float           # first right extension peak (sample position)
  end: float             # last right extension peak
  right: int             # complete right cycles (all in [start, end])
  left: int              # complete left cycles of the recording
  lengths: np.ndarray    # [right] cycle lengths in samples
  peaks: np.ndarray      # right extension peaks (sample positions)
  origin: str


def _where(trial: Trial) -> str:
  return trial.origin or f"subject {trial.subject} at {trial.speed_mps} m/s"


def _names(trials: Sequence[Trial]) -> str:
  names = [_where(t) for t in trials]
  return names[0] if len(names) == 1 else (
      f"{len(names)} passes ({', '.join(names)})")


def _interp(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
  """x: [T, F] sampled at float positions pos: [K] (linear) -> [K, F]."""
  pos = np.clip(pos, 0.0, x.shape[0] - 1.0)
  i = np.minimum(np.floor(pos).astype(np.int64), x.shape[0] - 2)
  f = (pos - i)[:, None]
  return x[i] * (1.0 - f) + x[i + 1] * f


def _prepare(trial: Trial) -> _Pass:
  where = _where(trial)
  preprocess.check_plausible(trial.angles, where)
  try:
    x = preprocess.resample(trial.angles, trial.rate_hz, WORK_RATE_HZ)
  except DataError as e:
    raise DataError(f"{where}: {e}") from e
  right = cycles.extension_peaks(x[:, constants.RIGHT[0]], WORK_RATE_HZ)
  left = cycles.extension_peaks(x[:, constants.LEFT[0]], WORK_RATE_HZ)
  if right.size < 2:
    return _Pass(x, 0.0, 0.0, 0, 0, np.zeros((0,)), right, where)
  return _Pass(x, float(right[0]), float(right[-1]), int(right.size - 1),
               int(max(left.size - 1, 0)), np.diff(right), right, where)


def _extended(p: _Pass, pos: np.ndarray) -> np.ndarray:
  """p.x at positions pos [K], continued periodically (by the used stretch's
  length) where pos leaves the recording."""
  period = p.end - p.start
  last = p.x.shape[0] - 1.0
  pos = np.where(pos > last, pos - period, pos)
  pos = np.where(pos < 0.0, pos + period, pos)
  return _interp(p.x, pos)


def count_cycles(trials: Sequence[Trial]) -> Dict[str, int]:
  """Complete cycles per side (consecutive extension peaks) of ``trials``."""
  passes = [_prepare(t) for t in trials]
  return {"right": sum(p.right for p in passes),
          "left": sum(p.left for p in passes)}


def assemble(trials: Sequence[Trial], *, seq_len: int = constants.SEQ_LEN,
             rate_hz: float = constants.RATE_HZ,
             min_cycles: int = DEFAULT_MIN_CYCLES) -> Assembled:
  """Joins the whole cycles of ``trials`` (one subject, one speed) into a
  ``[seq_len, 6]`` input at ``rate_hz`` (see the module docstring).

  Raises:
    DataError: fewer than ``min_cycles`` complete cycles on a side (the
      message names the file(s) and the counts), or a bad input.
  """
  if not trials:
    raise DataError("no trial to assemble a model input from")
  if min_cycles < 1:
    raise DataError(f"min_cycles must be >= 1, got {min_cycles}")
  passes = [_prepare(t) for t in trials]
  right = sum(p.right for p in passes)
  left = sum(p.left for p in passes)
  if min(right, left) < min_cycles:
    seconds = sum(t.duration_s for t in trials)
    raise DataError(
        f"{_names(trials)}: {min(right, left)} complete gait cycles found "
        f"(right {right}, left {left}) in {seconds:.1f} s, need at least "
        f"{min_cycles} per side; record a longer trial or more passes")
  used = [p for p in passes if p.right >= 1]
  cycle = float(np.median(np.concatenate([p.lengths for p in used])))
  shortest = min(p.end - p.start for p in used)
  half = int(max(2, min(round(BLEND_FRACTION * cycle), shortest / 2 - 1)))
  need = int(math.ceil((seq_len - 1) * WORK_RATE_HZ / rate_hz)) + 1
  # Lay the stretches end to end, cycling through the inputs.
  pieces: List[Tuple[_Pass, int]] = []
  total = 0
  while total < need:
    p = used[len(pieces) % len(used)]
    n = int(round(p.end - p.start))
    pieces.append((p, n))
    total += n
  y = np.concatenate([_interp(p.x, p.start + np.arange(n))
                      for p, n in pieces])
  starts = np.cumsum([0] + [n for _, n in pieces])
  j = np.arange(-half, half)
  w = (0.5 * (1.0 + np.cos(np.pi * (j + half) / (2 * half))))[:, None]
  jumps = []
  for i in range(len(pieces) - 1):
    (a, na), (b, _) = pieces[i], pieces[i + 1]
    outgoing = _extended(a, a.start + na + j)
    incoming = _extended(b, b.start + j)
    jumps.append(np.abs(outgoing[half] - incoming[half]))
    idx = starts[i + 1] + j
    keep = (idx >= 0) & (idx < y.shape[0])
    y[idx[keep]] = (w * outgoing + (1.0 - w) * incoming)[keep]
  out = preprocess.resample(y, WORK_RATE_HZ, rate_hz)[:seq_len]
  if out.shape[0] < seq_len:  # cannot happen: `need` covers seq_len
    raise DataError(f"{_names(trials)}: assembled only {out.shape[0]} "
                    f"samples")
  # Stride-to-stride SD at the join phase (the right extension peak).
  at_peaks = np.concatenate([_interp(p.x, p.peaks) for p in used])
  stride_sd = at_peaks.std(axis=0) if at_peaks.shape[0] > 1 else \
      np.zeros(constants.NUM_CHANNELS)
  jump = np.max(np.stack(jumps), axis=0) if jumps else \
      np.zeros(constants.NUM_CHANNELS)
  record = {
      "subject": trials[0].subject,
      "speed_mps": float(trials[0].speed_mps),
      "inputs": [_where(t) for t in trials],
      "seconds_recorded": round(float(sum(t.duration_s for t in trials)), 3),
      "cycles": {"right": int(right), "left": int(left)},
      "cycles_per_input": [{"right": p.right, "left": p.left}
                           for p in passes],
      "cycles_in_model_input": round(float(need / cycle), 2),
      "joins": len(pieces) - 1,
      "cut_at": "right hip-extension peak",
      "blend_s": round(2 * half / WORK_RATE_HZ, 4),
      "join_jump_deg": {c: round(float(v), 3)
                        for c, v in zip(constants.CHANNELS, jump)},
      "stride_sd_at_join_deg": {c: round(float(v), 3)
                                for c, v in zip(constants.CHANNELS,
                                                stride_sd)},
      "min_cycles": int(min_cycles),
  }
  return Assembled(out.astype(np.float32), record)


def model_input(trials: Sequence[Trial], *, seq_len: int = constants.SEQ_LEN,
                rate_hz: float = constants.RATE_HZ,
                min_cycles: int = DEFAULT_MIN_CYCLES) -> Assembled:
  """The model input of one condition (one subject at one speed).

  One recording of >= seq_len / rate_hz seconds: its first 30 s
  (``preprocess.to_model_input``, no record). Anything shorter, or several
  passes: ``assemble``.
  """
  trials = list(trials)
  if len(trials) == 1:
    t = trials[0]
    if preprocess.model_samples(t, rate_hz) >= seq_len:
      return Assembled(preprocess.to_model_input(
          t, seq_len=seq_len, rate_hz=rate_hz, min_cycles=min_cycles))
  return assemble(trials, seq_len=seq_len, rate_hz=rate_hz,
                  min_cycles=min_cycles)


def group_conditions(trials: Sequence[Trial]) -> List[List[Trial]]:
  """Trials grouped by (subject, speed), in order of first appearance:
  several rows of one condition are passes to be joined."""
  groups: Dict[Tuple[str, float], List[Trial]] = {}
  for t in trials:
    groups.setdefault((t.subject, round(float(t.speed_mps),
                                        SPEED_DECIMALS)), []).append(t)
  return list(groups.values())


def merged_origin(group: Sequence[Trial]) -> str:
  """One origin string for a condition made of several passes."""
  return "+".join(_where(t) for t in group)


def model_inputs(trials: Sequence[Trial], *,
                 seq_len: int = constants.SEQ_LEN,
                 rate_hz: float = constants.RATE_HZ,
                 min_cycles: int = DEFAULT_MIN_CYCLES
                 ) -> List[Tuple[List[Trial], Assembled]]:
  """``model_input`` of every (subject, speed) condition of ``trials``."""
  return [(g, model_input(g, seq_len=seq_len, rate_hz=rate_hz,
                          min_cycles=min_cycles))
          for g in group_conditions(trials)]


def trialset(trials: Sequence[Trial], *, seq_len: int = constants.SEQ_LEN,
             rate_hz: float = constants.RATE_HZ,
             min_cycles: int = DEFAULT_MIN_CYCLES):
  """(TrialSet, records) of raw trials: one row per (subject, speed)
  condition (passes joined), ``records`` the assembly records (JSON-able)
  of the rows that were assembled."""
  from gaitjax.data.dataset import TrialSet  # pylint: disable=g-import-not-at-top
  done = model_inputs(trials, seq_len=seq_len, rate_hz=rate_hz,
                      min_cycles=min_cycles)
  if not done:
    raise DataError("no trials given")
  ts = TrialSet.from_arrays(
      np.stack([a.x for _, a in done]), [g[0].speed_mps for g, _ in done],
      [g[0].subject for g, _ in done], cohort=[g[0].cohort for g, _ in done],
      paretic_side=[g[0].paretic_side for g, _ in done],
      origin=[merged_origin(g) if len(g) > 1 else g[0].origin
              for g, _ in done])
  return ts, [a.record for _, a in done if a.record]


def split_paths(value) -> List[str]:
  """--trial values: a path, a comma list, or a list of either -> paths."""
  items = [value] if isinstance(value, str) else list(value or [])
  paths = [p.strip() for item in items for p in str(item).split(",")
           if p.strip()]
  if not paths:
    raise DataError("--trial: no file given")
  return paths


def install_stroke_stats(generator, entry: Optional[Dict[str, Any]],
                         where: str, cohorts: Sequence[str] = ()
                         ) -> Optional[Dict[str, Any]]:
  """Puts stroke statistics the data brings (``entry`` from
  ``normalize.fit_cohort_stats`` or a build's ``cohort_stats.stroke``) into
  ``generator.stats['stroke']``, replacing the checkpoint's (paper II.C: a
  stroke cohort is normalised with statistics of its own subjects).

  Returns what meta.json records (None when the data brings none or has no
  stroke subject: the checkpoint's statistics stay).
  """
  from gaitjax.data import normalize  # pylint: disable=g-import-not-at-top
  if not entry or (len(cohorts) and "stroke" not in set(map(str, cohorts))):
    return None
  generator.stats["stroke"] = normalize.NormStats.from_dict(entry["stats"])
  return {"source": where, "subjects": list(entry.get("subjects", [])),
          "seed": entry.get("seed"), "stats": entry["stats"]}
