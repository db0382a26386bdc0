"""The evaluation job: models and simple baselines over held-out pairs.

    from gaitjax.eval import evaluate
    results = evaluate.evaluate({"diffusion": "runs/cpu", "tcn": "runs/tcn"},
                                data_dir="data", out_dir="eval/cpu")

For each cohort (able-bodied: the ``split`` of ``able_bodied_dataset``;
stroke: the 'test' split of ``stroke_dataset``, i.e. every stroke subject,
normalised with the STROKE statistics and with no fine-tuning, paper II.C)
every model generates every within-subject (source, target) pair, and
``gaitjax.eval.metrics`` scores each pair (MAE, r per joint and side or
paretic side, cadence, personalisation rank against every subject of the
cohort, all splits, at the target speed). The report folder gets
``metrics.json``, ``report.md`` (``gaitjax.eval.report``) and
``figures/fig*.png`` (``gaitjax.eval.figures``).

Models. Every checkpoint (diffusion, MLP or TCN: ``gaitjax.generate.Generator``
runs all three) and, unless ``simple_baselines=False``, three baselines that
need no training beyond the population template:

* ``copy_source``: the source itself (x_gen = x_src).
* ``population_mean``: the training population's mean cycle at the target
  speed, tiled at the population cadence at the target speed.
* ``cycle_template``: ``reference.template_baseline``: the subject's mean
  source cycle plus the population change of the mean cycle, tiled at the
  subject's cadence times the population's cadence ratio.

Their TemplateModel is the first diffusion checkpoint's (else any
checkpoint's); without one it is fitted on the able-bodied 'train' split.
Extra baseline rows (``gaitjax.eval.extra_rows``, unless
``extra_baselines=False``): ``cycle_regression`` (PCA-ridge in cycle space,
fitted on the evaluated able-bodied dataset's 'train' split), and on a
synthetic able-bodied build ``bound`` (what the subject's persistent traits
predict) and ``noise_floor`` (a second recording at the target speed).

Calibration (K = ``num_samples`` >= 2, non-deterministic models): records
get ``coverage_<L>`` / ``coverage_z_<L>`` (``gaitjax.eval.calibration``).
Checkpoints trained from fixed source speeds (the MLP/TCN baselines,
``config.data.source_speeds``, paper II.G) are evaluated only on pairs whose
source is at one of those speeds.

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

Randomised encoding (paper III.C, Table III). For every evaluated source
trial, another subject of the same split is drawn at random (seeded; from the
whole cohort when the split has one subject) and its trial closest to the
source speed replaces the source, with the same source and target speeds;
the samples' personalisation rank is computed for the TRUE subject
(record key ``rank_random``). One random subject per source trial serves all
of that trial's targets, so they share one generator call. For stroke only
pairs between base speeds (0.3, 0.6, 0.9, 1.2 m/s) are used (paper III.C);
the others have ``rank_random`` NaN with that reason.

Generation. All targets of one source trial go into one ``generate`` call
(sources with the same number of targets are batched together). With
``num_samples`` K > 1 the metrics are computed on the mean of the K samples;
``gen_sd`` records their mean standard deviation (degrees). Stroke targets
outside the able-bodied training speed range are generated anyway
(``allow_extrapolation``) and flagged in the record field ``extrapolated``.
"""
import collections
import dataclasses
import logging
import math
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from gaitjax import cli
from gaitjax import constants
from gaitjax.data import pairs as pairs_lib
from gaitjax.data import reference
from gaitjax.data.dataset import TrialSet
from gaitjax.data.normalize import NormStats
from gaitjax.errors import CheckpointError, ConfigError, DataError
from gaitjax.eval import analyses
from gaitjax.eval import calibration
from gaitjax.eval import cycles
from gaitjax.eval import metrics

Record = Dict[str, Any]
Results = Dict[str, Dict[str, Dict[str, Any]]]

SIMPLE_BASELINES: Tuple[str, ...] = ("copy_source", "population_mean",
                                     "cycle_template")
# Reserved row names: the simple baselines plus the rows of
# gaitjax.eval.extra_rows (cycle_regression, bound, bound_recording,
# noise_floor).
RESERVED_NAMES: Tuple[str, ...] = SIMPLE_BASELINES + (
    "cycle_regression", "bound", "bound_recording", "noise_floor")
SPEED_TOL_MPS: float = pairs_lib.SOURCE_SPEED_TOLERANCE_MPS
STROKE_BASE_SPEEDS: Tuple[float, ...] = (0.3, 0.6, 0.9, 1.2)
ALL_SPLITS: Tuple[str, ...] = ("train", "validation", "test")
ALL = "all"                  # --split=all: the union of ALL_SPLITS
# Rows (source x target x sample) per generate call: large enough to fill a
# device batch several times, small enough for a progress line now and then.
_ROWS_PER_CALL = 256
_LOG_EVERY_S = 10.0          # progress lines at most this often (and at end)


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
  from gaitjax.data import dataset as dataset_lib
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
  from gaitjax.data import tfds_builders
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


# ------------------------------------------------------------- generators
class SimpleBaseline:
  """A baseline with the Generator interface (deterministic, no network).

  Args:
    name: one of SIMPLE_BASELINES.
    template: TemplateModel of the training population.
    rate_hz: sampling rate.
  """
  deterministic = True      # K identical samples: no calibration

  def __init__(self, name: str, template: reference.TemplateModel,
               rate_hz: float = constants.RATE_HZ):
    if name not in SIMPLE_BASELINES:
      raise ConfigError(f"simple baseline must be one of {SIMPLE_BASELINES},"
                        f" got {name!r}")
    self.name = name
    self.template = template
    self.rate_hz = float(rate_hz)
    self.config = None
    self.stats = {}

  def predict(self, x_src: np.ndarray, v_src: float, v_tgt: float
              ) -> np.ndarray:
    """x_src [T, 6] -> prediction of x_tgt [T, 6] (degrees)."""
    if self.name == "copy_source":
      return np.asarray(x_src, np.float32)
    if self.name == "population_mean":
      # Legs half a cycle apart, as in walking; the MAE matches cycles, so
      # the starting phase does not matter.
      out = reference.synthesize_from_cycles(
          self.template.population_cycle(v_tgt),
          self.template.population_cadence(v_tgt), x_src.shape[0],
          self.rate_hz, {"right": 0.0, "left": 0.5})
      return out.astype(np.float32)
    return np.asarray(reference.template_baseline(
        x_src, v_src, v_tgt, self.template, rate_hz=self.rate_hz), np.float32)

  def generate(self, sources, v_src, v_tgt, *, num_samples: int = 1,
               seed: int = 0, cohort: str = "able_bodied"):
    """Same contract as Generator.generate (mean [N, S, T, 6], std 0)."""
    del seed, cohort
    x = np.asarray(sources, np.float32)
    v_src = np.asarray(v_src, np.float64).reshape(x.shape[0])
    v_tgt = np.asarray(v_tgt, np.float64).reshape(x.shape[0], -1)
    mean = np.stack([np.stack([self.predict(x[i], v_src[i], v)
                               for v in v_tgt[i]]) for i in range(len(x))])
    k = int(num_samples)
    return _Generated(mean=mean, std=np.zeros_like(mean),
                      samples=np.repeat(mean[:, :, None], k, axis=2),
                      extrapolated=np.zeros(v_tgt.shape, bool))


@dataclasses.dataclass
class _Generated:
  mean: np.ndarray
  std: np.ndarray
  samples: np.ndarray
  extrapolated: np.ndarray


def load_generators(models: Mapping[str, Any], *,
                    num_steps: Optional[int] = None,
                    which: Any = "best",
                    temperature: Optional[float] = None) -> Dict[str, Any]:
  """name -> Generator for each checkpoint path (objects pass through).

  A value that is not a path (anything with ``.generate``) is used as it is,
  which is how tests plug in fake generators.
  """
  out = {}
  for name, value in models.items():
    _check_model_name(name)
    if isinstance(value, (str, os.PathLike)):
      from gaitjax.generate import Generator
      logging.info("loading checkpoint %s = %s", name, value)
      # Stroke speeds (0.3 m/s) lie below the able-bodied training range;
      # the paper evaluates them with the able-bodied model anyway.
      out[name] = Generator(os.fspath(value), which, num_steps=num_steps,
                            temperature=temperature,
                            allow_extrapolation=True)
    elif hasattr(value, "generate"):
      out[name] = value
    else:
      raise ConfigError(f"model {name!r}: expected a checkpoint path or a "
                        f"generator, got {type(value).__name__}")
  return out


def _check_model_name(name: str) -> None:
  if not name or not isinstance(name, str):
    raise ConfigError(f"model names must be non-empty strings, got {name!r}")
  if name in RESERVED_NAMES:
    raise ConfigError(f"model name {name!r} is reserved for a baseline "
                      f"row; pick another name")


def _config_get(gen, *path, default=None):
  """gen.config.a.b..., or default when absent (fake or simple models)."""
  node = getattr(gen, "config", None)
  for key in path:
    if node is None:
      return default
    try:
      node = node[key] if isinstance(node, Mapping) else getattr(node, key)
    except (KeyError, AttributeError):
      return default
  return default if node is None else node


def model_kind(gen) -> str:
  """'diffusion' | 'mlp' | 'tcn' | ... from the config; 'simple' without."""
  if isinstance(gen, SimpleBaseline) or getattr(gen, "is_baseline", False):
    return "simple"
  return str(_config_get(gen, "model", "name", default="diffusion"))


def fixed_source_speeds(gen) -> Tuple[float, ...]:
  """The source speeds a checkpoint was trained from (() = any)."""
  speeds = _config_get(gen, "data", "source_speeds", default=()) or ()
  return tuple(float(v) for v in speeds)


def choose_template(generators: Mapping[str, Any]
                    ) -> Tuple[Optional[reference.TemplateModel], str]:
  """The first diffusion checkpoint's template, else any checkpoint's."""
  ranked = sorted(generators.items(),
                  key=lambda kv: model_kind(kv[1]) != "diffusion")
  for name, gen in ranked:
    template = getattr(gen, "template", None)
    if template is not None:
      # A data.reference='regression' checkpoint carries a CycleRegression;
      # the cycle_template row is its population template.
      return getattr(template, "template", template), f"checkpoint {name!r}"
  return None, ""


def check_compatible(name: str, gen, data: CohortData) -> str:
  """Refuses a checkpoint that cannot run on this cohort's data.

  For stroke, also installs the stroke normalisation statistics in
  ``gen.stats``: the stroke build's (a property of the data, paper II.C),
  else the checkpoint's own.

  Returns:
    A note for the report ('' when there is nothing to say).
  """
  x = data.eval_set.x
  where = f"model {name!r}"
  seq_len = _config_get(gen, "data", "seq_len")
  if seq_len is not None and int(seq_len) != x.shape[1]:
    raise CheckpointError(
        f"{where} was trained on sequences of {int(seq_len)} samples but "
        f"{data.dataset or data.name} {data.split} has {x.shape[1]}")
  channels = _config_get(gen, "data", "num_channels")
  stats = getattr(gen, "stats", None) or {}
  if channels is None and "able_bodied" in stats:
    channels = np.asarray(stats["able_bodied"].mean).shape[-1]
  if channels is not None and int(channels) != x.shape[2]:
    raise CheckpointError(
        f"{where} was trained on {int(channels)} channels but "
        f"{data.dataset or data.name} {data.split} has {x.shape[2]} "
        f"({', '.join(constants.CHANNELS)})")
  if isinstance(gen, SimpleBaseline) or not hasattr(gen, "stats"):
    return ""
  if "able_bodied" not in stats:
    raise CheckpointError(f"{where}: the checkpoint has no able-bodied "
                          f"normalisation statistics; re-export it")
  if data.name != "stroke":
    return ""
  if data.stats is not None:
    # The paper normalises stroke subjects with statistics of 12 random
    # stroke subjects (II.C); the stroke build holds them.
    own = stats.get("stroke")
    stats["stroke"] = data.stats
    if own is not None and not (
        np.allclose(own.mean, data.stats.mean, atol=1e-3)
        and np.allclose(own.std, data.stats.std, atol=1e-3)):
      return (f"{name}: stroke normalised with the statistics of the "
              f"{data.dataset} build, not the different ones stored in "
              f"the checkpoint")
    return ""
  if "stroke" not in stats:
    raise DataError(
        f"{where}: no stroke normalisation statistics in the checkpoint or "
        f"in the build of {data.dataset!r}; rebuild it with "
        f"launch/build_data.py")
  return (f"{name}: stroke normalised with the checkpoint's stroke "
          f"statistics (the {data.dataset or 'stroke'} data has none)")


# -------------------------------------------------------------- generation
def generate_pairs(gen, x_sources: np.ndarray, v_sources: np.ndarray,
                   pair_source: np.ndarray, v_tgt: np.ndarray, *,
                   cohort: str, num_samples: int = 1, seed: int = 0,
                   label: str = "", rows_per_call: int = _ROWS_PER_CALL,
                   rate_hz: float = constants.RATE_HZ,
                   calibrate: bool = True) -> Dict[str, np.ndarray]:
  """Generates every pair, all targets of one source in one call.

  Args:
    gen: anything with Generator.generate's contract.
    x_sources: [M, T, 6] source trials (degrees).
    v_sources: [M] speeds the model is told for each source (m/s).
    pair_source: [P] index into x_sources of each pair's source.
    v_tgt: [P] target speeds.
    cohort: selects normalisation statistics.
    num_samples: K samples per pair; metrics use their mean.
    seed: base seed; each call's seed derives from (seed, first pair).
    label: names the progress lines.
    rate_hz: sampling rate (for the samples' mean cycles).
    calibrate: keep every sample's mean cycle (K >= 2; for calibration).

  Returns:
    {'gen': [P, T, 6] mean sample, 'sd': [P] mean SD over the K samples,
     'extrapolated': [P] bool, and with K >= 2 from a non-deterministic
     generator 'sample_cycles': [P, K, 6, 101] every sample's mean cycle
     (``calibration.sample_mean_cycles``)}.
  """
  pair_source = np.asarray(pair_source, np.int64)
  v_tgt = np.asarray(v_tgt, np.float64)
  n_pairs = pair_source.shape[0]
  out = np.zeros((n_pairs,) + x_sources.shape[1:], np.float32)
  sd = np.zeros(n_pairs, np.float64)
  extrap = np.zeros(n_pairs, bool)
  want_cycles = (calibrate and int(num_samples) >= 2
                 and not getattr(gen, "deterministic", False))
  sample_cycles = (np.full((n_pairs, int(num_samples), 6,
                            calibration.NUM_POINTS), np.nan, np.float32)
                   if want_cycles else None)
  by_source = collections.defaultdict(list)
  for p, m in enumerate(pair_source):
    by_source[int(m)].append(p)
  # Sources with the same number of targets share calls.
  by_count = collections.defaultdict(list)
  for m, ps in by_source.items():
    by_count[len(ps)].append(m)
  calls = []
  for s, ms in sorted(by_count.items()):
    per_call = max(1, rows_per_call // (s * max(int(num_samples), 1)))
    calls += [ms[i:i + per_call] for i in range(0, len(ms), per_call)]
  start, done, last_log = time.time(), 0, -math.inf
  for ms in calls:
    rows = np.asarray([by_source[m] for m in ms], np.int64)       # [n, S]
    call_seed = int(np.random.SeedSequence(
        [int(seed), int(rows[0, 0])]).generate_state(1)[0] & 0x7FFFFFFF)
    res = gen.generate(x_sources[ms], np.asarray(v_sources)[ms], v_tgt[rows],
                       num_samples=num_samples, seed=call_seed, cohort=cohort)
    mean = np.asarray(res.mean, np.float32)
    out[rows.reshape(-1)] = mean.reshape((-1,) + x_sources.shape[1:])
    std = getattr(res, "std", None)
    if std is not None:
      sd[rows.reshape(-1)] = np.asarray(std, np.float64).mean(
          axis=(-2, -1)).reshape(-1)
    ex = getattr(res, "extrapolated", None)
    if ex is not None:
      extrap[rows.reshape(-1)] = np.asarray(ex, bool).reshape(-1)
    samples = getattr(res, "samples", None)
    if sample_cycles is not None and samples is not None:
      sc = calibration.sample_mean_cycles(samples, rate_hz)
      sample_cycles[rows.reshape(-1)] = sc.reshape((-1,) + sc.shape[-3:])
    done += rows.size
    if done == n_pairs or time.time() - last_log >= _LOG_EVERY_S:
      last_log = time.time()
      _log_progress(f"{label} generated pairs", done, n_pairs, start)
  result = {"gen": out, "sd": sd, "extrapolated": extrap}
  if sample_cycles is not None:
    result["sample_cycles"] = sample_cycles
  return result


# ----------------------------------------------------------------- metrics
def _pair_meta(ts: TrialSet, pairs: np.ndarray) -> Dict[str, list]:
  s, t = pairs[:, 0], pairs[:, 1]
  return {"subject": [str(v) for v in ts.subject[s]],
          "v_src": [float(v) for v in ts.speed[s]],
          "v_tgt": [float(v) for v in ts.speed[t]],
          "cohort": [str(v) for v in ts.cohort[s]],
          "paretic_side": [str(v or "") for v in ts.paretic_side[s]]}


def _log_progress(label: str, done: int, total: int, start: float) -> None:
  elapsed = time.time() - start
  rate = done / max(elapsed, 1e-9)
  logging.info("%s: %d/%d (%.1f/s, ETA %.0f s)", label, done, total, rate,
               (total - done) / rate)


def score_pairs(real: np.ndarray, gen: np.ndarray, meta: Mapping[str, list],
                bank: metrics.ReferenceBank, *, rate_hz: float,
                label: str = "") -> List[Record]:
  """metrics.pair_records in chunks, with progress lines."""
  records, start, n = [], time.time(), real.shape[0]
  chunk, last_log = 64, time.time()
  for i in range(0, n, chunk):
    sub = {k: v[i:i + chunk] for k, v in meta.items()}
    recs = metrics.pair_records(real[i:i + chunk], gen[i:i + chunk], sub,
                                rate_hz=rate_hz, bank=bank)
    for j, rec in enumerate(recs):
      rec["index"] = i + j
    records += recs
    if time.time() - last_log >= _LOG_EVERY_S:
      last_log = time.time()
      _log_progress(f"{label} scored pairs", min(i + chunk, n), n, start)
  return records


def randomised_ranks(gen, data: CohortData, pairs: np.ndarray,
                     bank: metrics.ReferenceBank, *, num_samples: int,
                     seed: int, rate_hz: float, label: str = ""
                     ) -> Tuple[List[metrics.RankResult], List[str]]:
  """Personalisation ranks with a random other subject's source encoded.

  Returns ([P] RankResult for the true subjects, [P] random subject names
  ('' where not evaluated)).
  """
  ts = data.eval_set
  eligible = np.ones(len(pairs), bool)
  if data.name == "stroke":
    eligible = (speed_mask(ts.speed[pairs[:, 0]], STROKE_BASE_SPEEDS)
                & speed_mask(ts.speed[pairs[:, 1]], STROKE_BASE_SPEEDS))
  ranks = [metrics.RankResult(math.nan, 0, "randomised encoding: stroke "
                              "pairs use the base speeds only")] * len(pairs)
  names = [""] * len(pairs)
  if not eligible.any():
    return ranks, names
  sel = np.flatnonzero(eligible)
  src_trials, slot = np.unique(pairs[sel, 0], return_inverse=True)
  x_rand, subj_rand, _ = random_source_trials(
      ts, src_trials, seed=seed, pool=data.pool)
  out = generate_pairs(gen, x_rand, ts.speed[src_trials], slot,
                       ts.speed[pairs[sel, 1]], cohort=data.name,
                       num_samples=num_samples, seed=seed + 1,
                       label=f"{label} randomised", calibrate=False)
  true_subjects = [str(s) for s in ts.subject[pairs[sel, 0]]]
  rr = metrics.rank_samples(out["gen"], true_subjects, ts.speed[pairs[sel, 1]],
                            bank, rate_hz=rate_hz)
  for k, p in enumerate(sel):
    ranks[p] = rr[k]
    names[p] = str(subj_rand[slot[k]])
  return ranks, names


# -------------------------------------------------------------------- job
@dataclasses.dataclass
class _CohortRun:
  data: CohortData
  bank: metrics.ReferenceBank
  pairs: np.ndarray                 # [P, 2] the common pair set
  num_all_pairs: int


def _cohort_run(data: CohortData, max_pairs: int, seed: int,
                rate_hz: float) -> _CohortRun:
  ts = data.eval_set
  if len(ts) == 0:
    raise DataError(f"{data.dataset or data.name} split {data.split!r}: no "
                    f"trials to evaluate")
  all_pairs = pairs_lib.within_subject_pairs(ts)
  chosen = select_pairs(ts, max_pairs, seed=seed,
                        bin_width=analyses.default_bin(data.name))
  logging.info("%s: %d subjects, %d trials, %d of %d pairs; ranking against "
               "%d subjects", data.name, ts.num_subjects, len(ts), len(chosen),
               len(all_pairs), data.pool.num_subjects)
  bank = metrics.build_reference_bank(data.pool.x, data.pool.subject,
                                      data.pool.speed, rate_hz=rate_hz)
  return _CohortRun(data, bank, chosen, len(all_pairs))


def _model_pairs(gen, run: _CohortRun, max_pairs: int, seed: int
                 ) -> Tuple[np.ndarray, str]:
  """The pairs a model is evaluated on, and a note when they differ."""
  speeds = fixed_source_speeds(gen)
  if not speeds:
    return run.pairs, ""
  ts = run.data.eval_set
  allowed = pairs_lib.allowed_sources(ts, speeds)
  cand = pairs_lib.within_subject_pairs(ts)
  cand = cand[allowed[cand[:, 0]]]
  if not len(cand):
    return cand, (f"no {run.data.name} source within "
                  f"{SPEED_TOL_MPS} m/s of its fixed source speeds {speeds}")
  chosen = select_pairs(ts, max_pairs, seed=seed, candidates=cand,
                        bin_width=analyses.default_bin(run.data.name))
  return chosen, (f"{run.data.name}: only sources at its fixed source "
                  f"speeds {speeds} ({len(chosen)} pairs)")


def evaluate_model(name: str, gen, run: _CohortRun, pairs: np.ndarray, *,
                   num_samples: int, seed: int, rate_hz: float,
                   randomised_encoding: bool) -> Dict[str, Any]:
  """Records of one model on one cohort, plus the arrays behind them."""
  ts, cohort = run.data.eval_set, run.data.name
  label = f"[{name}/{cohort}]"
  t0 = time.time()
  src_trials, slot = np.unique(pairs[:, 0], return_inverse=True)
  out = generate_pairs(gen, ts.x[src_trials], ts.speed[src_trials], slot,
                       ts.speed[pairs[:, 1]], cohort=cohort,
                       num_samples=num_samples, seed=seed, label=label,
                       rate_hz=rate_hz)
  t_gen = time.time() - t0
  real = ts.x[pairs[:, 1]]
  records = score_pairs(real, out["gen"], _pair_meta(ts, pairs), run.bank,
                        rate_hz=rate_hz, label=label)
  for rec, sd, ex in zip(records, out["sd"], out["extrapolated"]):
    rec["gen_sd"] = float(sd)
    rec["extrapolated"] = bool(ex)
  if "sample_cycles" in out:
    us, ks = [], []
    for rec, x_real, sc in zip(records, real, out["sample_cycles"]):
      fields, why = calibration.pair_fields(x_real, sc, rate_hz=rate_hz)
      rec.update(fields)
      if why:
        rec["reasons"]["coverage"] = why
      u, k = calibration.normalised_errors(
          cycles.mean_cycles(np.asarray(x_real, np.float64), rate_hz).mean,
          sc)
      us.append(u)
      ks.append(k)
    for rec, fields in zip(records, calibration.calibrated_fields(
        us, ks, [r["subject"] for r in records])):
      rec.update(fields)
    band_scale = calibration.fit_band_scale(us, ks)
  else:
    band_scale = None
  if randomised_encoding:
    ranks, names = randomised_ranks(gen, run.data, pairs, run.bank,
                                    num_samples=num_samples, seed=seed,
                                    rate_hz=rate_hz, label=label)
    records = metrics.attach_ranks(records, ranks, key="rank_random")
    for rec, rs in zip(records, names):
      rec["random_subject"] = rs
  result = {"records": records, "real": real, "gen": out["gen"],
            "seconds": {"generate": t_gen, "total": time.time() - t0}}
  if band_scale is not None:
    result["band_scale"] = band_scale
  return result


def evaluate_cohorts(generators: Mapping[str, Any],
                     cohorts: Sequence[CohortData], *,
                     template: Optional[reference.TemplateModel] = None,
                     template_source: str = "",
                     out_dir: Optional[str] = None, max_pairs: int = 0,
                     num_samples: int = 1, seed: int = 0,
                     simple_baselines: bool = True,
                     randomised_encoding: bool = True,
                     make_figures: bool = True,
                     settings: Optional[Mapping[str, Any]] = None,
                     notes: Sequence[str] = (),
                     extra_rows: Optional[Mapping[str, Any]] = None
                     ) -> Results:
  """Evaluates generators (and the simple baselines) on in-memory cohorts.

  Args:
    generators: name -> object with Generator.generate's contract.
    cohorts: the cohorts' data (``load_cohort``).
    template: population template of the simple baselines (default: from a
      checkpoint, see ``choose_template``).
    out_dir: report folder; None writes nothing.
    max_pairs, num_samples, seed, simple_baselines, randomised_encoding:
      see ``evaluate``.
    make_figures: draw figures/fig*.png.
    settings: recorded in metrics.json.
    notes: extra lines for the report.
    extra_rows: more baseline rows (``extra_rows.build_rows``); a row with
      a ``cohorts`` attribute runs only on those cohorts.

  Returns:
    model -> cohort -> {'records', 'summary', 'analyses'} (what
    report.write_report takes).
  """
  if max_pairs < 0:
    raise ConfigError(f"max_pairs must be >= 0 (0 = all pairs), got "
                      f"{max_pairs}")
  if int(num_samples) < 1:
    raise ConfigError(f"num_samples must be >= 1, got {num_samples}")
  if not cohorts:
    raise DataError("no cohort to evaluate")
  models: Dict[str, Any] = {}
  for name, gen in generators.items():
    _check_model_name(name)
    models[name] = gen
  rate_hz = float(next((_config_get(g, "data", "rate_hz") for g in
                        models.values() if _config_get(g, "data", "rate_hz")),
                       constants.RATE_HZ))
  if simple_baselines:
    if template is None:
      template, template_source = choose_template(models)
    if template is None:
      raise DataError("simple baselines need a population template: give a "
                      "checkpoint with one, or the able-bodied train split")
    for b in SIMPLE_BASELINES:
      models[b] = SimpleBaseline(b, template, rate_hz)
  for name, row in (extra_rows or {}).items():
    models[name] = row
  if not models:
    raise ConfigError("nothing to evaluate: no checkpoint and no simple "
                      "baselines")
  notes: List[str] = list(notes)
  for data in cohorts:
    for name, gen in models.items():
      note = check_compatible(name, gen, data)
      if note:
        notes.append(note)
  main = next((n for n, g in models.items() if model_kind(g) == "diffusion"),
              next(iter(models)))

  results: Results = {name: {} for name in models}
  arrays: Dict[str, Dict[str, Any]] = {}
  info: Dict[str, Any] = {"cohorts": {}, "models": {}, "timing": {}}
  job_start = time.time()
  for data in cohorts:
    run = _cohort_run(data, max_pairs, seed, rate_hz)
    ts = data.eval_set
    n_ident = int(np.sum(run.pairs[:, 0] == run.pairs[:, 1]))
    info["cohorts"][data.name] = {
        "dataset": data.dataset, "split": data.split,
        "num_subjects": ts.num_subjects, "subjects": list(ts.subjects),
        "num_trials": len(ts), "num_pairs_all": run.num_all_pairs,
        "num_pairs": int(len(run.pairs)), "num_identity_pairs": n_ident,
        "rank_cohort_subjects": data.pool.num_subjects,
        "rank_bank_skipped": run.bank.skipped,
        "speeds": sorted({round(float(v), 3) for v in ts.speed})}
    if randomised_encoding and ts.num_subjects < 2:
      notes.append(f"{data.name}: the {data.split} split has one subject; "
                   f"randomised encoding draws from all the cohort's "
                   f"subjects")
    if len(run.pairs) < run.num_all_pairs:
      notes.append(
          f"{data.name}: stratified subset of {len(run.pairs)} of "
          f"{run.num_all_pairs} pairs ({n_ident} identity); MAE vs number "
          f"of source speeds (Fig. 7b) uses only these pairs")
    for m, (name, gen) in enumerate(models.items()):
      if data.name not in getattr(gen, "cohorts", (data.name,)):
        continue
      pairs, note = _model_pairs(gen, run, max_pairs, seed)
      if note:
        notes.append(f"{name}: {note}")
      if not len(pairs):
        continue
      ev = evaluate_model(name, gen, run, pairs, num_samples=num_samples,
                          seed=seed, rate_hz=rate_hz,
                          randomised_encoding=randomised_encoding)
      recs = ev["records"]
      entry = {"records": recs, "summary": metrics.summarize(recs)}
      if "band_scale" in ev:
        entry["summary"]["band_scale"] = ev["band_scale"]
      ana = analyses.cohort_analyses(recs, data.name)
      if name != main:
        ana.pop("num_sources", None)     # Fig. 7b: the main model only
      entry["analyses"] = ana
      results[name][data.name] = entry
      if name == main:
        arrays[data.name] = ev
      info["timing"].setdefault(name, {})[data.name] = ev["seconds"]
      h = entry["summary"]["headline"]
      logging.info("[%s/%s] %d pairs: MAE %.2f deg, r %.3f, rank %.2f / "
                   "%.0f, randomised rank %.2f (%d/%d models, %.0f s so far)",
                   name, data.name, len(recs), h["mae"], h["r"], h["rank"],
                   h["cohort_size"], h["rank_random"], m + 1, len(models),
                   time.time() - job_start)
  results = {name: by for name, by in results.items() if by}
  for name, gen in models.items():
    info["models"][name] = _model_info(gen)
  if simple_baselines:
    notes.append(f"simple baselines use the population template of "
                 f"{template_source or 'the able-bodied train split'}")
  if num_samples > 1:
    notes.append(f"metrics are computed on the mean of {num_samples} "
                 f"samples per pair")
  if out_dir is not None:
    write_outputs(out_dir, results, arrays, main=main, notes=notes,
                  info=info, settings=settings, make_figures=make_figures,
                  rate_hz=rate_hz)
  return results


def _model_info(gen) -> Dict[str, Any]:
  out = {"kind": model_kind(gen)}
  bundle = getattr(gen, "bundle", None)
  if bundle is not None:
    out["path"] = str(getattr(bundle, "path", ""))
  for attr in ("step", "checksum"):
    try:
      value = getattr(gen, attr, None)
    except Exception:   # a partially loaded checkpoint: leave it out
      value = None
    if value is not None:
      out[attr] = value
  steps = _config_get(gen, "sampling", "num_steps")
  if steps is not None and out["kind"] == "diffusion":
    out["ddim_steps"] = int(steps)
    out["ddim_eta"] = float(_config_get(gen, "sampling", "eta", default=0.0))
    out["temperature"] = float(_config_get(gen, "sampling", "temperature",
                                           default=1.0))
  speeds = fixed_source_speeds(gen)
  if speeds:
    out["fixed_source_speeds"] = list(speeds)
  return out


def write_outputs(out_dir: str, results: Results,
                  arrays: Mapping[str, Mapping[str, Any]], *, main: str,
                  notes: Sequence[str], info: Mapping[str, Any],
                  settings: Optional[Mapping[str, Any]], make_figures: bool,
                  rate_hz: float) -> Dict[str, str]:
  """figures/*.png, then metrics.json and report.md."""
  from gaitjax.eval import figures
  from gaitjax.eval import report
  import gaitjax
  paths: Dict[str, str] = {}
  if make_figures and main in results:
    cohort_ana = {c: e["analyses"] for c, e in results[main].items()}
    per_source = {m: {c: e["analyses"]["per_source_speed"]
                      for c, e in by.items()} for m, by in results.items()}
    cases = {}
    for c, e in results[main].items():
      rc = e["analyses"].get("representative_cases", {})
      if "best" in rc and c in arrays:
        cases[c] = figures.case_rows(e["records"], arrays[c]["real"],
                                     arrays[c]["gen"], rc)
    paths = figures.plot_all(os.path.join(out_dir, "figures"), cohort_ana,
                             per_source_models=per_source, case_arrays=cases,
                             rate_hz=rate_hz)
  rel = calibration.curves(results) if make_figures else {}
  if rel:
    paths["reliability"] = figures.plot_reliability(
        os.path.join(out_dir, "figures", "fig8_reliability.png"), rel)
  extra = {"main_model": main, "figures": paths, "notes": list(notes),
           "settings": dict(settings or {}),
           "gaitjax_version": gaitjax.__version__}
  extra.update(info)
  return report.write_report(out_dir, results, extra)


def evaluate(models: Mapping[str, Any], *, data_dir: str, out_dir: str,
             able_bodied_dataset: str = "synthetic_able_bodied",
             stroke_dataset: Optional[str] = "synthetic_stroke",
             split: str = "test", max_pairs: int = 0,
             speed_subset: Optional[Sequence[float]] = None,
             num_samples: int = 1, seed: int = 0,
             simple_baselines: bool = True, randomised_encoding: bool = True,
             num_steps: Optional[int] = None, which: Any = "best",
             temperature: Optional[float] = None,
             make_figures: bool = True, extra_baselines: bool = True,
             cohorts: Sequence[str] = (),
             regression_dataset: Optional[str] = None) -> Results:
  """Evaluates checkpoints and baselines; writes the report folder.

  Args:
    models: name -> checkpoint (training workdir) or a generator object.
    data_dir: the folder launch/build_data.py wrote.
    out_dir: report folder (metrics.json, report.md, figures/).
    able_bodied_dataset: built dataset of the able-bodied cohort.
    stroke_dataset: built stroke dataset ('test' = every stroke subject), or
      None / '' to skip the stroke cohort.
    split: able-bodied split evaluated.
    max_pairs: 0 = every within-subject pair; else a stratified subset of at
      most this many per cohort (see the module docstring).
    speed_subset: only trials within 0.026 m/s of these speeds.
    num_samples: samples per pair (metrics use their mean).
    seed: seeds generation, pair subsets and randomised encoding.
    simple_baselines: add copy_source, population_mean, cycle_template.
    randomised_encoding: compute rank_random (Table III).
    num_steps: DDIM step override for diffusion checkpoints.
    temperature: initial-noise scale override (config.sampling.temperature).
    which: 'best' | 'latest' | step of each checkpoint.
    make_figures: draw the figures.
    extra_baselines: with simple_baselines, also the rows of
      ``gaitjax.eval.extra_rows`` (cycle_regression; bound and noise_floor
      on a synthetic build).
    regression_dataset: fit cycle_regression on this dataset's 'train'
      split instead of able_bodied_dataset's.
    cohorts: when given ('able_bodied', 'stroke'), every cohort is read from
      ``able_bodied_dataset`` (one folder build holding both): able-bodied
      from ``split``, stroke from 'test'; ``stroke_dataset`` is ignored.

  Returns:
    model -> cohort -> {'records', 'summary', 'analyses'}.
  """
  if max_pairs < 0:
    raise ConfigError(f"--max_pairs must be >= 0 (0 = all pairs), got "
                      f"{max_pairs}")
  if not models and not simple_baselines:
    raise ConfigError("nothing to evaluate: give --checkpoints or drop "
                      "--no_simple_baselines")
  selected, cohorts = tuple(cohorts), []
  wanted = [("able_bodied", able_bodied_dataset, split)]
  if stroke_dataset:
    wanted.append(("stroke", stroke_dataset, "test"))
  if selected:
    bad = sorted(set(selected) - {"able_bodied", "stroke"})
    if bad:
      raise ConfigError(f"--cohorts: unknown cohort(s) {bad}; expected "
                        f"able_bodied, stroke")
    wanted = [(c, able_bodied_dataset, split if c == "able_bodied"
               else "test") for c in ("able_bodied", "stroke")
              if c in selected]
    stroke_dataset = able_bodied_dataset if "stroke" in selected else None
  skipped = []
  for cohort, dataset, sp in wanted:
    data = load_cohort(data_dir, dataset, sp, cohort)
    sub = restrict_speeds(data.eval_set, speed_subset)
    if sub is None:
      skipped.append(f"{dataset} {sp}")
      continue
    cohorts.append(dataclasses.replace(data, eval_set=sub))
  if not cohorts:
    raise DataError(f"--speeds={','.join(str(v) for v in speed_subset)}: no "
                    f"trial within {SPEED_TOL_MPS} m/s of them in "
                    f"{' or '.join(skipped)}")
  # Data first: its errors are cheaper to find than a checkpoint's load.
  generators = load_generators(models, num_steps=num_steps, which=which,
                               temperature=temperature)
  template, template_source = choose_template(generators)
  if simple_baselines and template is None:
    from gaitjax.data import dataset as dataset_lib
    train = dataset_lib.load_split(data_dir, able_bodied_dataset, "train")
    template = reference.TemplateModel.fit(train)
    template_source = f"{able_bodied_dataset} train split (fitted here)"
  settings = {"data_dir": os.fspath(data_dir),
              "able_bodied_dataset": able_bodied_dataset,
              "stroke_dataset": stroke_dataset or None, "split": split,
              "max_pairs": int(max_pairs),
              "speed_subset": list(speed_subset or []),
              "num_samples": int(num_samples), "seed": int(seed),
              "simple_baselines": bool(simple_baselines),
              "randomised_encoding": bool(randomised_encoding),
              "num_steps": num_steps, "which": str(which),
              "temperature": temperature,
              "checkpoints": {n: os.fspath(v) for n, v in models.items()
                              if isinstance(v, (str, os.PathLike))},
              "skipped_cohorts": skipped}
  notes = []
  for name, gen in generators.items():
    trained_on = _config_get(gen, "data", "dataset")
    if trained_on and str(trained_on) != able_bodied_dataset:
      notes.append(f"{name} was trained on {trained_on!r}, evaluated on "
                   f"{able_bodied_dataset!r}")
  if skipped:
    notes.append(f"--speeds selects no trial of {', '.join(skipped)}: "
                 f"skipped")
  rows = {}
  if simple_baselines and extra_baselines:
    from gaitjax.eval import extra_rows
    ab_pool = next((c.pool for c in cohorts if c.name == "able_bodied"), None)
    rows, row_notes, settings["extra_rows"] = extra_rows.build_rows(
        data_dir, able_bodied_dataset, pool=ab_pool,
        regression_dataset=regression_dataset)
    notes += row_notes
  results = evaluate_cohorts(
      generators, cohorts, template=template, template_source=template_source,
      notes=notes,
      out_dir=out_dir, max_pairs=max_pairs, num_samples=num_samples,
      seed=seed, simple_baselines=simple_baselines,
      randomised_encoding=randomised_encoding, make_figures=make_figures,
      settings=settings, extra_rows=rows)
  logging.info("wrote %s", os.path.join(out_dir, "report.md"))
  return results


# ------------------------------------------------------------------ flags
def parse_checkpoints(entries: Sequence[str], single: Optional[str]
                      ) -> Dict[str, str]:
  """--checkpoints=name=path,... and/or --checkpoint=path -> name -> path."""
  out: Dict[str, str] = {}
  items = [(None, single)] if single else []
  for entry in entries:
    entry = entry.strip()
    if not entry:
      continue
    name, sep, path = entry.partition("=")
    if not sep or not name.strip() or not path.strip():
      raise ConfigError(f"--checkpoints: expected name=path entries, got "
                        f"{entry!r}")
    items.append((name.strip(), path.strip()))
  for name, path in items:
    if name is None:
      name = os.path.basename(os.path.normpath(path)) or "model"
    _check_model_name(name)
    if name in out:
      raise ConfigError(f"--checkpoints: model name {name!r} given twice")
    out[name] = path
  return out



def parse_flags(flags) -> Dict[str, Any]:
  """launch/evaluate.py's flags -> keyword arguments of ``evaluate``."""
  if not flags.output_dir:
    raise ConfigError("--output_dir is required")
  models = parse_checkpoints(flags.checkpoints, flags.checkpoint)
  if not models and flags.no_simple_baselines:
    raise ConfigError("nothing to evaluate: give --checkpoints or drop "
                      "--no_simple_baselines")
  if flags.max_pairs < 0:
    raise ConfigError(f"--max_pairs must be >= 0 (0 = all pairs), got "
                      f"{flags.max_pairs}")
  if flags.num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {flags.num_samples}")
  which = flags.which
  which = int(which) if str(which).isdigit() else which
  return dict(models=models, data_dir=flags.data_dir,
              out_dir=flags.output_dir, able_bodied_dataset=flags.dataset,
              stroke_dataset=flags.stroke_dataset or None, split=flags.split,
              max_pairs=flags.max_pairs,
              speed_subset=cli.parse_speeds(flags.speeds, "speeds") or None,
              num_samples=flags.num_samples, seed=flags.seed,
              simple_baselines=not flags.no_simple_baselines,
              randomised_encoding=not flags.no_randomised_encoding,
              num_steps=flags.num_steps, which=which,
              temperature=getattr(flags, "temperature", None),
              extra_baselines=not getattr(flags, "no_extra_baselines", False),
              regression_dataset=getattr(flags, "regression_dataset", None)
              or None,
              cohorts=tuple(getattr(flags, "cohorts", None) or ()))
