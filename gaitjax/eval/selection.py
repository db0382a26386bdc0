"""Which trials and pairs an evaluation reads: cohorts and pair selection.

``load_cohort`` reads one cohort (the evaluated split plus every trial of the
cohort for personalisation ranks); ``select_pairs`` picks the within-subject
(source, target) pairs; ``random_source_trials`` draws the other subjects of
the randomised-encoding analysis (``gaitjax.eval.evaluate``'s docstring).

Pairs. All within-subject pairs, or with ``max_pairs`` > 0 a deterministic
stratified subset per cohort (``select_pairs``): pairs are grouped into
(source speed, target speed) cells (stroke speeds binned as in
``analyses.default_bin``); cells are visited round-robin over source speeds,
each source speed's identity cell first and then its other cells in a seeded
random order, one pair per visit, choosing inside a cell the subject picked
least so far (exact identity pairs first); once every cell has one pair,
further passes visit the cells in a fresh seeded random order. So every
source speed and its identity pair is covered before any cell gets a second
pair, and subjects stay balanced. Identity pairs are therefore
over-represented compared with the full set (max_pairs=300 on 5 subjects x
28 speeds keeps 28 of 300, 9 %, against 140 of 3920, 3.6 %; the report says
how many were kept), which lowers the mean MAE a little. ``speed_subset`` keeps only trials within 0.026 m/s of
the listed speeds (as sources and as targets).
"""
import collections
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from gaitjax.data import dataset as dataset_lib
from gaitjax.data import pairs as pairs_lib
from gaitjax.data import tfds_builders
from gaitjax.data.dataset import TrialSet
from gaitjax.data.normalize import NormStats
from gaitjax.errors import ConfigError, DataError
from gaitjax.eval import analyses

SPEED_TOL_MPS: float = pairs_lib.SOURCE_SPEED_TOLERANCE_MPS
STROKE_BASE_SPEEDS: Tuple[float, ...] = (0.3, 0.6, 0.9, 1.2)
ALL_SPLITS: Tuple[str, ...] = ("train", "validation", "test")
ALL = "all"                  # --split=all: the union of ALL_SPLITS


# ------------------------------------------------------------------- data
@dataclasses.dataclass(frozen=True)
class CohortData:
  """What one cohort's evaluation reads.

  Attributes:
    name: 'able_bodied' | 'stroke'.
    eval_set: trials whose within-subject pairs are evaluated.
    pool: every trial of the cohort (all splits): personalisation ranks
      compare against all of its subjects.
    stats: the cohort's normalisation statistics from the dataset build
      (used for stroke when a checkpoint has none), or None.
    dataset, split: where eval_set came from (for the report).
  """
  name: str
  eval_set: TrialSet
  pool: TrialSet
  stats: Optional[NormStats] = None
  dataset: str = ""
  split: str = ""


def concat_trialsets(sets: Sequence[TrialSet]) -> TrialSet:
  """One TrialSet of several (e.g. the splits of a cohort)."""
  sets = [s for s in sets if s is not None and len(s)]
  if not sets:
    raise DataError("no trials to combine")
  return TrialSet.from_arrays(
      np.concatenate([s.x for s in sets]),
      np.concatenate([s.speed for s in sets]),
      np.concatenate([s.subject for s in sets]),
      cohort=np.concatenate([s.cohort for s in sets]),
      paretic_side=np.concatenate([s.paretic_side for s in sets]),
      origin=np.concatenate([s.origin for s in sets]))


def load_cohort(data_dir: str, dataset: str, split: str, cohort: str
                ) -> CohortData:
  """Reads a cohort's evaluation split, its other splits and its stats.

  split 'all' evaluates every subject of every split: a model trained on
  other data (e.g. the synthetic population prior) tested on a whole lab
  dataset it never saw.
  """
  parts = []
  for other in ALL_SPLITS:
    if other == split:
      continue
    try:
      parts.append(dataset_lib.load_split(data_dir, dataset, other))
    except DataError:
      pass              # e.g. stroke builds only have 'test'
  if split == ALL:
    if not parts:
      raise DataError(f"dataset {dataset!r} in {data_dir}: no split has "
                      f"examples")
    eval_set = concat_trialsets(parts)
  else:
    eval_set = dataset_lib.load_split(data_dir, dataset, split)
    parts = [eval_set] + parts
  try:
    stats = dataset_lib.load_stats(data_dir, dataset)
  except DataError:
    stats = None
  # Issue 11: a folder build may hold both cohorts; keep this cohort's
  # trials, and its own stroke statistics (fitted on its stroke subjects).
  if stats is not None and cohort == "stroke":
    own = tfds_builders.cohort_stats(
        dataset_lib.read_build_info(data_dir, dataset), "stroke")
    stats = own if own is not None else stats
  pool = concat_trialsets(parts)
  if set(pool.cohort.tolist()) != {cohort}:
    if not np.any(eval_set.cohort == cohort):
      raise DataError(f"dataset {dataset!r} split {split!r} has no "
                      f"{cohort} subject")
    eval_set = eval_set.select(eval_set.cohort == cohort)
    pool = pool.select(pool.cohort == cohort)
  return CohortData(name=cohort, eval_set=eval_set, pool=pool, stats=stats,
                    dataset=dataset, split=split)


def speed_mask(speed: np.ndarray, speeds: Sequence[float],
               tol: float = SPEED_TOL_MPS) -> np.ndarray:
  """[N] bool: speed within tol of one of speeds."""
  speed = np.asarray(speed, np.float64)
  want = np.asarray(list(speeds), np.float64)
  return np.any(np.abs(speed[:, None] - want[None]) <= tol + 1e-9, axis=1)


def restrict_speeds(ts: TrialSet, speeds: Optional[Sequence[float]]
                    ) -> Optional[TrialSet]:
  """The trials within 0.026 m/s of speeds (None: all); None if none."""
  if not speeds:
    return ts
  mask = speed_mask(ts.speed, speeds)
  return ts.select(mask) if mask.any() else None


# ------------------------------------------------------------------ pairs
def select_pairs(ts: TrialSet, max_pairs: int, *, seed: int = 0,
                 candidates: Optional[np.ndarray] = None,
                 bin_width: Optional[float] = None) -> np.ndarray:
  """All within-subject pairs, or a stratified subset of max_pairs.

  See the module docstring for the rule. Deterministic in (ts, max_pairs,
  seed, candidates).

  Args:
    ts: the evaluated trials.
    max_pairs: 0 = all; else at most this many pairs.
    seed: seeds the order of cells and ties.
    candidates: [P, 2] pairs to choose from (default: all within-subject).
    bin_width: speed bin of the cells (None: 0.01 m/s).

  Returns:
    [P', 2] int64 (src, tgt) trial indices, sorted by source then target.
  """
  if max_pairs < 0:
    raise ConfigError(f"max_pairs must be >= 0 (0 = all pairs), got "
                      f"{max_pairs}")
  cand = (pairs_lib.within_subject_pairs(ts) if candidates is None
          else np.asarray(candidates, np.int64).reshape(-1, 2))
  if max_pairs == 0 or len(cand) <= max_pairs:
    return _sorted_pairs(cand)
  rng = np.random.default_rng(seed)
  src_bin = analyses.bin_speed(ts.speed[cand[:, 0]], bin_width)
  tgt_bin = analyses.bin_speed(ts.speed[cand[:, 1]], bin_width)
  cells: Dict[Tuple[float, float], List[int]] = collections.defaultdict(list)
  for p in rng.permutation(len(cand)):
    cells[(float(src_bin[p]), float(tgt_bin[p]))].append(int(p))
  # Per source bin: its identity cell first, the others in random order.
  by_source: Dict[float, List[Tuple[float, float]]] = {}
  for sb in sorted({k[0] for k in cells}):
    own = [k for k in cells if k[0] == sb]
    diag = [k for k in own if k[1] == sb]
    rest = sorted(k for k in own if k[1] != sb)
    rest = [rest[i] for i in rng.permutation(len(rest))]
    by_source[sb] = diag + rest
  order = []
  for k in range(max(len(v) for v in by_source.values())):
    order += [v[k] for v in by_source.values() if k < len(v)]
  picked, per_subject = [], collections.Counter()
  subj = ts.subject_index[cand[:, 0]]
  identity = cand[:, 0] == cand[:, 1]
  visit = order
  while len(picked) < max_pairs:
    progressed = False
    for key in visit:
      pool = cells[key]
      if not pool:
        continue
      # Least-picked subject first, exact identity pairs before same-bin
      # ones; the shuffled position breaks the remaining ties.
      best = min(range(len(pool)), key=lambda i: (
          per_subject[subj[pool[i]]], not identity[pool[i]], i))
      p = pool.pop(best)
      picked.append(p)
      per_subject[subj[p]] += 1
      progressed = True
      if len(picked) == max_pairs:
        break
    if not progressed:
      break
    # Later passes in a fresh random order, so identity cells do not get
    # every second pick too.
    visit = [order[i] for i in rng.permutation(len(order))]
  return _sorted_pairs(cand[np.asarray(picked, np.int64)])


def _sorted_pairs(p: np.ndarray) -> np.ndarray:
  p = np.asarray(p, np.int64).reshape(-1, 2)
  return p[np.lexsort((p[:, 1], p[:, 0]))]


def random_source_trials(ts: TrialSet, src_trials: np.ndarray, *, seed: int,
                         pool: Optional[TrialSet] = None
                         ) -> Tuple[np.ndarray, np.ndarray, bool]:
  """For each source trial, a random other subject's trial at its speed.

  Args:
    ts: the evaluated trials (random subjects are drawn from its subjects).
    src_trials: [M] source trial indices into ts.
    seed: seeds the draw.
    pool: drawn from instead when ts has a single subject.

  Returns:
    (x [M, T, 6] random sources, subject [M] their subjects, from_pool).
  """
  from_pool = ts.num_subjects < 2
  base = pool if from_pool else ts
  if base is None or base.num_subjects < 2:
    raise DataError("randomised encoding needs at least two subjects in the "
                    "cohort")
  rng = np.random.default_rng(seed)
  xs, subjects = [], []
  for i in np.asarray(src_trials, np.int64):
    own = str(ts.subject[i])
    others = [s for s in base.subjects if s != own]
    pick = others[int(rng.integers(len(others)))]
    idx = np.flatnonzero(base.subject == pick)
    j = idx[int(np.argmin(np.abs(base.speed[idx] - ts.speed[i])))]
    xs.append(base.x[j])
    subjects.append(pick)
  return np.stack(xs), np.asarray(subjects, object), from_pool
