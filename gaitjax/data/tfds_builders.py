r"""TFDS datasets of gait trials: array_record files read without TensorFlow.

One builder, ``gaitjax_gait``, with one BuilderConfig per data source:

  synthetic_able_bodied  22 synthetic subjects x 28 speeds (0.50..1.85 m/s),
                         generated at 200 Hz, preprocessed like real data.
  synthetic_stroke       19 synthetic stroke subjects x 5 speeds.
  synthetic_able_bodied_uncorrelated
                         the able-bodied cohort (same seed, subjects and
                         splits) with speed responses independent of the
                         subjects' traits (synthetic speed_response switch).
  synthetic_population   300 other synthetic able-bodied subjects ('SP01'..,
                         seed 2) x 28 speeds for pretraining: 290 train /
                         10 validation, no test.
  synthetic_population_uncorrelated
                         the same population with uncorrelated speed
                         responses.
  synthetic_population_mixed
                         synthetic_population plus 100 stroke-like subjects
                         ('SPS01'.., seed 2, none in synthetic_stroke) x 19
                         speeds 0.30..1.20 m/s; both cohorts split into
                         train / validation (97 / 3 %), no test.
  camargo                Camargo et al. 2021 (manual_dir = its root folder).
  folder                 a folder of .csv/.mot/.npz trials (manual_dir).

One example per trial (paper II.C): ``angles`` [600, 6] float32 degrees at
20 Hz, ``speed`` float32 m/s, ``subject``/``cohort``/``paretic_side``/
``origin`` Text (paretic_side '' when none). Data lives in
``<data_dir>/gaitjax_gait/<config>/<version>/``; read it back with
``gaitjax.data.dataset.load_split`` (TFDS data sources, no TensorFlow; the
``tfds build`` tool and ``tfds.load`` need TensorFlow and are not used).

Splits are by subject, never by trial:
  * able-bodied sources: subjects sorted, shuffled with ``split_seed``, then
    ``num_train/val/test_subjects`` (13/4/5, paper II.E). When the source has
    another number of subjects (a folder, a partial Camargo copy) the counts
    are scaled to it, each split keeping at least one subject; with fewer
    than 3 subjects everything goes to 'test'. A split whose count is 0
    stays empty.
  * stroke sources (all trials cohort 'stroke'): every subject in 'test'.
    The paper evaluates all 19 stroke subjects and never trains on them.
    A folder mixing cohorts: the able-bodied subjects are split as above
    (13/4/5 scaled to their number), every stroke subject goes to 'test'.
  * ``split_stroke`` (a training population): each cohort is split on its
    own by the rule for able-bodied sources.
  Splits with no subject are not written.
  A folder whose subjects.csv has a ``split`` column uses that instead
  (``readers.read_folder_splits``).

Normalisation statistics (paper II.C) are written beside the data as plain
JSON, ``<data_dir>/gaitjax_gait/<config>/<version>/gaitjax_stats.json``:
fit on the 'train' split when there is one, otherwise (stroke) on
``num_stats_subjects`` (12) subjects drawn with ``stats_seed``. A build with
stroke subjects also gets stroke statistics fitted on up to 12 of its own
stroke subjects (``stats_seed``), under ``cohort_stats.stroke`` and in
``stroke_stats.json`` beside it; generation and evaluation of those subjects
use them. The file also records the build parameters, the subjects of every
split, skipped trials and the inputs assembled from short recordings or
passes (``assembled``: files, cycles per side, joins; gaitjax.data.assemble).

Builds happen in TFDS's ``incomplete.*`` sibling folder and are renamed into
place only when complete, so an interrupted build never loads as a dataset
(``build`` removes such leftovers before building again).

  python launch/build_data.py --dataset=all_synthetic --data_dir=data
"""
import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from gaitjax import constants
from gaitjax.data import readers
from gaitjax.data.trial import Trial
from gaitjax.errors import ConfigError, DataError

DATASET_NAME = "gaitjax_gait"
VERSION = "1.0.0"
STATS_FILE = "gaitjax_stats.json"
# Stroke statistics fitted on the build's own stroke subjects (a folder with
# stroke subjects): also inside STATS_FILE under cohort_stats.stroke.
STROKE_STATS_FILE = "stroke_stats.json"
CONFIG_NAMES: Tuple[str, ...] = (
    "synthetic_able_bodied", "synthetic_stroke", "camargo", "folder",
    "synthetic_able_bodied_uncorrelated", "synthetic_population",
    "synthetic_population_uncorrelated", "synthetic_population_mixed")
SYNTHETIC: Tuple[str, ...] = ("synthetic_able_bodied", "synthetic_stroke")
# Synthetic configs that 'all_synthetic' does not build.
EXTRA_SYNTHETIC: Tuple[str, ...] = ("synthetic_able_bodied_uncorrelated",
                                    "synthetic_population",
                                    "synthetic_population_uncorrelated",
                                    "synthetic_population_mixed")
MANUAL: Tuple[str, ...] = ("camargo", "folder")
ALL_SYNTHETIC = "all_synthetic"
SPLITS: Tuple[str, ...] = ("train", "validation", "test")
# Fewest subjects that still give every split one subject.
MIN_SUBJECTS_TO_SPLIT = 3

MANUAL_INSTRUCTIONS = """\
camargo: --manual_dir is the root of the Camargo et al. 2021 download
(subject folders AB06.. with treadmill/ik .mat files).
folder: --manual_dir is a folder of .csv/.mot/.npz trials as described in
gaitjax/data/readers.py (read_folder).
"""


@dataclasses.dataclass
class GaitConfig(tfds.core.BuilderConfig):
  """BuilderConfig with the cohort, split and statistics parameters.

  ``num_subjects``/``speeds`` only apply to the synthetic sources and exist so
  tests and smoke runs can build tiny cohorts; () means the cohort default.
  """
  source: str = "synthetic_able_bodied"
  num_subjects: int = 22
  speeds: Tuple[float, ...] = ()
  cohort_seed: int = 0
  duration_s: float = 32.0               # raw synthetic length, > 30 s
  raw_rate_hz: float = 200.0             # [P II.B] motion capture rate
  num_train_subjects: int = 13           # [P II.E]
  num_val_subjects: int = 4              # [P II.E]
  num_test_subjects: int = 5             # [P II.E]
  split_seed: int = 0
  num_stats_subjects: int = 12           # [P II.C] stroke statistics
  stats_seed: int = 0
  seq_len: int = constants.SEQ_LEN
  rate_hz: float = constants.RATE_HZ
  # Real recordings may hold a short or implausible trial: skip it with a
  # warning instead of failing the whole build. Synthetic data never should.
  skip_bad_trials: bool = False
  # Synthetic able-bodied only: 'correlated' | 'uncorrelated' speed
  # responses (gaitjax.data.synthetic) and the subject name prefix.
  speed_response: str = "correlated"
  subject_prefix: str = "AB"
  # Synthetic only: a speed_correction.json (launch/compare_cohorts.py
  # --fit_correction) fitted to a lab's own multi-speed people; "" = the
  # generator's default (fitted to the 8 WBDS adults).
  speed_correction: str = ""
  # Whole gait cycles per side a recording (or the passes of one subject
  # at one speed) must hold when shorter than seq_len / rate_hz: it is then
  # assembled from its cycles (gaitjax.data.assemble).
  min_cycles: int = 5
  # Synthetic able-bodied only: also this many stroke-like subjects (same
  # cohort seed, names subject_prefix + 'S' + number) at
  # synthetic.STROKE_POPULATION_SPEEDS, for a training population.
  num_stroke_subjects: int = 0
  # Split the stroke subjects into train/validation/test like the
  # able-bodied ones (counts scaled to their number) instead of testing
  # them all (the paper's rule, II.E).
  split_stroke: bool = False


# Fields that define what a build contains (recorded in the stats file and
# compared when a build is reused).
_PARAM_FIELDS: Tuple[str, ...] = (
    "source", "num_subjects", "speeds", "cohort_seed", "duration_s",
    "raw_rate_hz", "num_train_subjects", "num_val_subjects",
    "num_test_subjects", "split_seed", "num_stats_subjects", "stats_seed",
    "seq_len", "rate_hz", "skip_bad_trials", "speed_response",
    "subject_prefix", "min_cycles", "speed_correction",
    "num_stroke_subjects", "split_stroke")
# Recorded only when they differ from these, so builds made before the
# fields existed are still reused.
_OMITTED_DEFAULTS: Dict[str, Any] = {"speed_response": "correlated",
                                     "subject_prefix": "AB",
                                     "min_cycles": 5,
                                     "speed_correction": "",
                                     "num_stroke_subjects": 0,
                                     "split_stroke": False}
# Fields `build(..., **overrides)` may change.
OVERRIDABLE: Tuple[str, ...] = _PARAM_FIELDS[1:]


def _configs() -> List[GaitConfig]:
  return [
      GaitConfig(name="synthetic_able_bodied", source="synthetic_able_bodied",
                 num_subjects=22, cohort_seed=0,
                 description="Synthetic able-bodied cohort, 22 subjects x "
                             "28 speeds 0.50..1.85 m/s."),
      GaitConfig(name="synthetic_stroke", source="synthetic_stroke",
                 num_subjects=19, cohort_seed=1,
                 description="Synthetic stroke cohort, 19 subjects at 0.3, "
                             "0.6, 0.9, 1.2 m/s and a self-selected speed; "
                             "all subjects in 'test'."),
      GaitConfig(name="synthetic_able_bodied_uncorrelated",
                 source="synthetic_able_bodied", num_subjects=22,
                 cohort_seed=0, speed_response="uncorrelated",
                 description="Synthetic able-bodied cohort (the same "
                             "subjects and splits as synthetic_able_bodied) "
                             "whose speed responses are independent of "
                             "their traits."),
      GaitConfig(name="synthetic_population", source="synthetic_able_bodied",
                 num_subjects=300, cohort_seed=2, subject_prefix="SP",
                 num_train_subjects=290, num_val_subjects=10,
                 num_test_subjects=0,
                 description="Synthetic able-bodied pretraining population: "
                             "300 subjects (seed 2, none shared with "
                             "synthetic_able_bodied) x 28 speeds."),
      GaitConfig(name="synthetic_population_uncorrelated",
                 source="synthetic_able_bodied", num_subjects=300,
                 cohort_seed=2, subject_prefix="SP",
                 speed_response="uncorrelated", num_train_subjects=290,
                 num_val_subjects=10, num_test_subjects=0,
                 description="synthetic_population with speed responses "
                             "independent of the subjects' traits."),
      GaitConfig(name="synthetic_population_mixed",
                 source="synthetic_able_bodied", num_subjects=300,
                 num_stroke_subjects=100, split_stroke=True, cohort_seed=2,
                 subject_prefix="SP", num_train_subjects=290,
                 num_val_subjects=10, num_test_subjects=0,
                 description="synthetic_population and 100 stroke-like "
                             "subjects of the same seed ('SPS01'..) at "
                             "0.30..1.20 m/s, each cohort split 97/3 % "
                             "train/validation."),
      GaitConfig(name="camargo", source="camargo", skip_bad_trials=True,
                 description="Camargo et al. 2021 treadmill trials "
                             "(manual_dir)."),
      GaitConfig(name="folder", source="folder", skip_bad_trials=True,
                 description="A folder of .csv/.mot/.npz trials "
                             "(manual_dir)."),
  ]


class GaitjaxGait(tfds.core.GeneratorBasedBuilder):
  """Gait trials, one example per subject x speed, split by subject."""

  VERSION = tfds.core.Version(VERSION)
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_INSTRUCTIONS

  def __init__(self, *, overrides: Optional[Dict[str, Any]] = None, **kwargs):
    # A custom BuilderConfig may not reuse a registered name, and the data
    # must land under the registered name so `load_split` finds it: apply
    # field overrides to the named config instead.
    self._overrides = dict(overrides or {})
    super().__init__(**kwargs)

  def _create_builder_config(self, builder_config, version):
    config = super()._create_builder_config(builder_config, version=version)
    if self._overrides:
      config = dataclasses.replace(config, **self._overrides)
    return config

  def _info(self) -> tfds.core.DatasetInfo:
    seq_len = self.builder_config.seq_len
    return tfds.core.DatasetInfo(
        builder=self,
        description=(f"{self.builder_config.description} Sagittal hip, knee "
                     f"and ankle angles (degrees, clinical signs, "
                     f"channels {', '.join(constants.CHANNELS)}) at "
                     f"{self.builder_config.rate_hz:g} Hz, {seq_len} samples."),
        features=tfds.features.FeaturesDict({
            "angles": tfds.features.Tensor(
                shape=(seq_len, constants.NUM_CHANNELS), dtype=np.float32),
            "speed": tfds.features.Scalar(dtype=np.float32),
            "subject": tfds.features.Text(),
            "cohort": tfds.features.Text(),
            "paretic_side": tfds.features.Text(),
            "origin": tfds.features.Text(),
        }),
    )

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    trials = _read_source(cfg, dl_manager.manual_dir if cfg.source in MANUAL
                          else None)
    records, skipped = _preprocess(trials, cfg)
    cohorts = {r["subject"]: r["cohort"] for r in records}
    given = (readers.read_folder_splits(dl_manager.manual_dir)
             if cfg.source == "folder" else None)
    splits = (assign_splits(cohorts, cfg) if given is None
              else given_splits(cohorts, given))
    stats, fit_on, stats_subjects = _fit_split_stats(records, splits, cfg)
    stroke = _fit_stroke_stats(records, splits, cfg)
    info = {
        "stats": stats.to_dict(),
        "fit_on": fit_on,
        "stats_subjects": stats_subjects,
        "splits": splits,
        "num_examples": {s: sum(r["subject"] in set(splits[s])
                                for r in records) for s in splits},
        "build": build_params(cfg, dl_manager.manual_dir
                              if cfg.source in MANUAL else None),
        "skipped": skipped,
        "assembled": [r["assembly"] for r in records if r.get("assembly")],
    }
    if stroke is not None:
      info["cohort_stats"] = {"stroke": stroke}
    (pathlib.Path(self.data_path) / STROKE_STATS_FILE).unlink(
        missing_ok=True)
    if stroke is not None:
      (pathlib.Path(self.data_path) / STROKE_STATS_FILE).write_text(
          json.dumps(stroke, indent=1, sort_keys=True))
    # During download_and_prepare data_path is TFDS's incomplete.* folder,
    # renamed with the arrays only once everything is written.
    (pathlib.Path(self.data_path) / STATS_FILE).write_text(
        json.dumps(info, indent=1, sort_keys=True))
    logging.info("%s/%s: splits %s; statistics fit on %s", DATASET_NAME,
                 cfg.name, {s: len(v) for s, v in splits.items()}, fit_on)
    return {split: self._generate_examples(
        [r for r in records if r["subject"] in set(subjects)])
            for split, subjects in splits.items() if subjects}

  def _generate_examples(self, records) -> Iterator[Tuple[str, Dict]]:
    for r in records:
      yield r["key"], {k: r[k] for k in ("angles", "speed", "subject",
                                         "cohort", "paretic_side", "origin")}


def build_params(cfg: GaitConfig, manual_dir=None) -> Dict[str, Any]:
  """What a build contains, as JSON-able values (compared on reuse)."""
  params = {f: getattr(cfg, f) for f in _PARAM_FIELDS}
  params["speeds"] = [float(v) for v in params["speeds"]]
  for f, default in _OMITTED_DEFAULTS.items():
    if params[f] == default:
      del params[f]
  params["manual_dir"] = (str(pathlib.Path(manual_dir).resolve())
                          if manual_dir else None)
  if cfg.source.startswith("synthetic"):
    # A build of an older generator holds other people: never reuse it.
    from gaitjax.data import synthetic  # pylint: disable=g-import-not-at-top
    params["generator"] = synthetic.GENERATOR_REVISION
    if cfg.speed_correction:
      # The coefficients, not the path: an edited file is another build.
      params["speed_correction"] = synthetic.SpeedCorrection.load(
          cfg.speed_correction).to_dict()
  return params


def _speed_correction(cfg: GaitConfig):
  """The build's SpeedCorrection: its file, or None (the default)."""
  from gaitjax.data import synthetic  # pylint: disable=g-import-not-at-top
  if not cfg.speed_correction:
    return None
  return synthetic.SpeedCorrection.load(cfg.speed_correction)


def _read_source(cfg: GaitConfig, manual_dir) -> List[Trial]:
  """All trials of the config's source (synthetic or from manual_dir)."""
  t0 = time.time()
  if cfg.source == "synthetic_able_bodied":
    from gaitjax.data import synthetic
    logging.info("generating %d synthetic able-bodied subjects at %g Hz",
                 cfg.num_subjects, cfg.raw_rate_hz)
    trials = synthetic.make_able_bodied_cohort(
        seed=cfg.cohort_seed, num_subjects=cfg.num_subjects,
        speeds=list(cfg.speeds) if cfg.speeds else None,
        duration_s=cfg.duration_s, rate_hz=cfg.raw_rate_hz,
        speed_response=cfg.speed_response,
        subject_prefix=cfg.subject_prefix,
        speed_correction=_speed_correction(cfg))
    if cfg.num_stroke_subjects:
      logging.info("generating %d synthetic stroke-like subjects",
                   cfg.num_stroke_subjects)
      trials += synthetic.make_stroke_cohort(
          seed=cfg.cohort_seed, num_subjects=cfg.num_stroke_subjects,
          duration_s=cfg.duration_s, rate_hz=cfg.raw_rate_hz,
          speeds=synthetic.STROKE_POPULATION_SPEEDS,
          subject_prefix=cfg.subject_prefix + "S",
          speed_correction=_speed_correction(cfg))
  elif cfg.source == "synthetic_stroke":
    from gaitjax.data import synthetic
    logging.info("generating %d synthetic stroke subjects at %g Hz",
                 cfg.num_subjects, cfg.raw_rate_hz)
    trials = synthetic.make_stroke_cohort(
        seed=cfg.cohort_seed, num_subjects=cfg.num_subjects,
        duration_s=cfg.duration_s, rate_hz=cfg.raw_rate_hz,
        speed_correction=_speed_correction(cfg))
  elif cfg.source in MANUAL:
    root = _check_manual_dir(cfg.name, manual_dir)
    logging.info("reading %s trials from %s", cfg.name, root)
    read = readers.read_camargo if cfg.source == "camargo" else \
        readers.read_folder
    trials = read(root)
  else:
    raise ConfigError(f"builder config {cfg.name}: unknown source "
                      f"{cfg.source!r}, expected one of {CONFIG_NAMES}")
  if not trials:
    raise DataError(f"{cfg.name}: no trials found"
                    + (f" in {manual_dir}" if manual_dir else ""))
  logging.info("%s: %d trials of %d subjects read in %.1f s", cfg.name,
               len(trials), len({t.subject for t in trials}),
               time.time() - t0)
  return trials


def _check_manual_dir(name: str, manual_dir) -> pathlib.Path:
  if manual_dir is None or not str(manual_dir):
    raise DataError(f"dataset {name} needs --manual_dir=RAW_ROOT (the folder "
                    f"with the raw {name} data)")
  root = pathlib.Path(os.fspath(manual_dir)).expanduser()
  if not root.is_dir():
    raise DataError(f"--manual_dir={manual_dir}: not a folder (dataset {name} "
                    f"reads its raw data from there)")
  if not any(root.iterdir()):  # else TFDS raises a multi-line AssertionError
    raise DataError(f"--manual_dir={manual_dir}: empty folder (dataset {name} "
                    f"reads its raw data from there)")
  return root


def _preprocess(trials: Sequence[Trial], cfg: GaitConfig
                ) -> Tuple[List[Dict], List[str]]:
  """Trials -> (records with [seq_len, 6] angles at rate_hz, skip reasons).

  Trials of one subject at one speed are passes of one condition; a
  condition shorter than seq_len / rate_hz (or made of several passes) is
  assembled from its whole gait cycles (``gaitjax.data.assemble``) and its
  record keeps how (``assembly``).
  """
  from gaitjax.data import assemble
  by_subject: Dict[str, List[Trial]] = {}
  for t in trials:
    by_subject.setdefault(t.subject, []).append(t)
  records, skipped = [], []
  subjects = sorted(by_subject)
  for n, subject in enumerate(subjects, 1):
    subject_trials = sorted(by_subject[subject],
                            key=lambda t: (t.speed_mps, t.origin))
    kept = 0
    for i, group in enumerate(assemble.group_conditions(subject_trials)):
      t = group[0]
      try:
        asm = assemble.model_input(group, seq_len=cfg.seq_len,
                                   rate_hz=cfg.rate_hz,
                                   min_cycles=cfg.min_cycles)
      except DataError as e:
        if not cfg.skip_bad_trials:
          raise
        logging.warning("skipping a trial: %s", e)
        skipped.append(str(e).splitlines()[0])
        continue
      if asm.record:
        logging.info("%s at %g m/s: model input assembled from %d cycles "
                     "(right) of %d recording(s), %.1f s", subject,
                     t.speed_mps, asm.record["cycles"]["right"], len(group),
                     asm.record["seconds_recorded"])
      records.append({
          "key": f"{subject}_{i:04d}",
          "angles": np.asarray(asm.x, np.float32),
          "speed": np.float32(t.speed_mps),
          "subject": subject,
          "cohort": t.cohort,
          "paretic_side": t.paretic_side or "",
          "origin": (assemble.merged_origin(group) if len(group) > 1
                     else t.origin or ""),
          "assembly": asm.record,
      })
      kept += 1
    logging.info("subject %d/%d %s: %d trials", n, len(subjects), subject,
                 kept)
  if skipped:
    logging.warning("%s: skipped %d of %d trials (see warnings above)",
                    cfg.name, len(skipped), len(trials))
  if not records:
    first = f"; first: {skipped[0]}" if skipped else ""
    raise DataError(f"{cfg.name}: no usable trial (all {len(trials)} had "
                    f"too few gait cycles or were implausible{first})")
  return records, skipped


def given_splits(cohorts: Dict[str, str], given: Dict[str, str]
                 ) -> Dict[str, List[str]]:
  """The folder's own split column ({subject: split}) as assign_splits'
  result, for the subjects that have usable trials."""
  return {split: sorted(s for s in cohorts if given.get(s) == split)
          for split in SPLITS}


def assign_splits(cohorts: Dict[str, str], cfg: GaitConfig
                  ) -> Dict[str, List[str]]:
  """Subject -> split by the rules in the module docstring.

  Args:
    cohorts: subject -> cohort ('able_bodied' | 'stroke').
    cfg: the split counts and seed.

  Returns:
    {'train': [...], 'validation': [...], 'test': [...]} (sorted names).
  """
  kinds = set(cohorts.values())
  if cfg.split_stroke and "stroke" in kinds and len(kinds) > 1:
    # A training population: each cohort split on its own, same counts.
    parts = [assign_splits({s: c for s, c in cohorts.items() if c == kind},
                           cfg)
             for kind in sorted(kinds)]
    return {split: sorted(sum((p[split] for p in parts), []))
            for split in SPLITS}
  if "stroke" in kinds and len(kinds) > 1:
    # Mixed: the able-bodied subjects are split, every stroke subject is
    # tested (never trained on, paper II.E).
    stroke = sorted(s for s in cohorts if cohorts[s] == "stroke")
    able = assign_splits({s: c for s, c in cohorts.items()
                          if c != "stroke"}, cfg)
    return {**able, "test": sorted(able["test"] + stroke)}
  subjects = sorted(cohorts)
  empty = {s: [] for s in SPLITS}
  n = len(subjects)
  if (kinds == {"stroke"} and not cfg.split_stroke) or \
      n < MIN_SUBJECTS_TO_SPLIT:
    if kinds != {"stroke"}:
      logging.warning("%s: only %d subjects, all go to 'test'", cfg.name, n)
    return {**empty, "test": subjects}
  counts = (cfg.num_train_subjects, cfg.num_val_subjects,
            cfg.num_test_subjects)
  if min(counts) < 0 or sum(counts) <= 0:
    raise ConfigError(f"{cfg.name}: subject counts {counts} must be >= 0")
  if n != sum(counts):
    # A split asked for keeps at least one subject; one asked to be empty
    # (a pretraining population's test split) stays empty.
    val, test = (max(1, round(n * c / sum(counts))) if c else 0
                 for c in counts[1:])
    counts = (n - val - test, val, test)
    logging.info("%s: %d subjects, split %d/%d/%d (scaled from %d/%d/%d)",
                 cfg.name, n, *counts, cfg.num_train_subjects,
                 cfg.num_val_subjects, cfg.num_test_subjects)
  order = np.random.default_rng(cfg.split_seed).permutation(n)
  shuffled = [subjects[i] for i in order]
  bounds = np.cumsum((0,) + counts)
  return {split: sorted(shuffled[bounds[i]:bounds[i + 1]])
          for i, split in enumerate(SPLITS)}


def _fit_split_stats(records, splits, cfg):
  """NormStats from 'train', or from num_stats_subjects subjects (stroke)."""
  from gaitjax.data import normalize
  if splits["train"]:
    chosen = list(splits["train"])
    fit_on = "train"
  else:
    choose = getattr(normalize, "choose_stats_subjects", None) or getattr(
        normalize, "stroke_stats_subjects")
    everyone = sorted({r["subject"] for r in records})
    chosen = sorted(choose(everyone, num=min(cfg.num_stats_subjects,
                                             len(everyone)),
                           seed=cfg.stats_seed))
    fit_on = f"{len(chosen)} randomly chosen subjects (seed {cfg.stats_seed})"
  keep = set(chosen)
  x = np.stack([r["angles"] for r in records if r["subject"] in keep])
  return normalize.fit_stats(x), fit_on, chosen


def _fit_stroke_stats(records, splits, cfg) -> Optional[Dict[str, Any]]:
  """Stroke statistics from up to num_stats_subjects of the build's own
  stroke subjects (paper II.C), or None when it has none.

  Returns {'stats', 'subjects', 'seed', 'fit_on'} (JSON-able).
  """
  del splits
  from gaitjax.data import normalize
  return normalize.fit_cohort_stats(
      np.stack([r["angles"] for r in records]),
      [r["subject"] for r in records], [r["cohort"] for r in records],
      "stroke", num=cfg.num_stats_subjects, seed=cfg.stats_seed)


def cohort_stats(info: Dict[str, Any], cohort: str):
  """NormStats of ``cohort`` from a build's stats file (read_build_info), or
  None: 'stroke' -> the stroke statistics fitted on the build's own stroke
  subjects; 'able_bodied' -> the build's statistics when they were fit on
  its training split."""
  from gaitjax.data import normalize
  if cohort == "stroke":
    entry = (info.get("cohort_stats") or {}).get("stroke")
    return normalize.NormStats.from_dict(entry["stats"]) if entry else None
  if info.get("fit_on") == "train" and "stats" in info:
    return normalize.NormStats.from_dict(info["stats"])
  return None


# --------------------------------------------------------------- building


def dataset_path(data_dir, dataset: str) -> pathlib.Path:
  """<data_dir>/gaitjax_gait/<dataset>/<version>: where a build lives."""
  return pathlib.Path(os.fspath(data_dir)).expanduser() / DATASET_NAME / \
      dataset / VERSION


def is_built(data_dir, dataset: str) -> bool:
  """True when a complete build (TFDS info + our stats file) is there."""
  path = dataset_path(data_dir, dataset)
  return all((path / f).is_file() for f in
             ("dataset_info.json", "features.json", STATS_FILE))


def build(dataset: str, data_dir, manual_dir=None, overwrite: bool = False,
          **overrides) -> List[pathlib.Path]:
  """Builds one dataset (or 'all_synthetic') into data_dir; returns its paths.

  Args:
    dataset: a name in CONFIG_NAMES or 'all_synthetic'.
    data_dir: the TFDS data_dir (the folder ``load_split`` reads).
    manual_dir: raw data root for 'camargo' / 'folder'.
    overwrite: rebuild even when a complete build exists.
    **overrides: GaitConfig fields (OVERRIDABLE), e.g. num_subjects=4 for a
      tiny synthetic cohort; ignored by configs whose source does not use
      them (num_subjects/speeds are synthetic-only).

  A complete build with the same parameters is reused; one with different
  parameters is an error unless ``overwrite``.
  """
  if dataset == ALL_SYNTHETIC:
    names = list(SYNTHETIC)
  elif dataset in CONFIG_NAMES:
    names = [dataset]
  else:
    raise ConfigError(f"--dataset={dataset}: expected one of "
                      f"{', '.join(CONFIG_NAMES + (ALL_SYNTHETIC,))}")
  bad = sorted(set(overrides) - set(OVERRIDABLE))
  if bad:
    raise ConfigError(f"unknown dataset parameter(s) {bad}; allowed: "
                      f"{', '.join(OVERRIDABLE)}")
  if overrides.get("speed_correction"):
    from gaitjax.data import synthetic  # pylint: disable=g-import-not-at-top
    synthetic.SpeedCorrection.load(overrides["speed_correction"])  # checks
  if "min_cycles" in overrides and not int(overrides["min_cycles"]) >= 1:
    raise ConfigError(f"--min_cycles={overrides['min_cycles']}: need >= 1 "
                      f"whole gait cycle per side")
  for name in names:
    if name in MANUAL:
      _check_manual_dir(name, manual_dir)
  if not str(data_dir):
    raise ConfigError("--data_dir is required")
  return [_build_one(name, data_dir, manual_dir, overwrite, overrides)
          for name in names]


def _build_one(name, data_dir, manual_dir, overwrite, overrides):
  own = dict(overrides)
  if name not in SYNTHETIC + EXTRA_SYNTHETIC:
    own.pop("num_subjects", None)
    own.pop("speeds", None)
    own.pop("speed_correction", None)
  if name == "synthetic_stroke":
    own.pop("speeds", None)  # stroke speeds are fixed by the cohort
  if "speeds" in own:
    own["speeds"] = tuple(float(v) for v in own["speeds"] or ())
  data_dir = pathlib.Path(os.fspath(data_dir)).expanduser()
  builder = GaitjaxGait(config=name, data_dir=os.fspath(data_dir),
                        file_format="array_record", overrides=own)
  path = dataset_path(data_dir, name)
  wanted = build_params(builder.builder_config,
                        manual_dir if name in MANUAL else None)
  mode = tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
  if path.exists():
    if overwrite or not is_built(data_dir, name):
      mode = tfds.download.GenerateMode.FORCE_REDOWNLOAD
    else:
      have = json.loads((path / STATS_FILE).read_text()).get("build")
      if have != wanted:
        diff = sorted(k for k in wanted if have is None
                      or have.get(k) != wanted[k])
        raise DataError(f"{path} was built with different parameters "
                        f"({', '.join(diff)}); pass --overwrite to rebuild")
      logging.info("reusing the complete build in %s", path)
      return path
  _remove_stale_incomplete(path)
  t0 = time.time()
  config = tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual_dir) if manual_dir else None,
      download_mode=mode)
  # Nothing is downloaded: keep TFDS's downloads/ folder out of data_dir.
  with tempfile.TemporaryDirectory(prefix="gaitjax_tfds_") as scratch:
    builder.download_and_prepare(download_dir=scratch,
                                 download_config=config)
  logging.info("built %s in %.1f s: %.1f MB in %s", name, time.time() - t0,
               folder_size(path) / 1e6, path)
  return path


def _remove_stale_incomplete(path: pathlib.Path) -> None:
  """Deletes incomplete.* folders an interrupted build left (never loadable)."""
  if not path.parent.is_dir():
    return
  for stale in path.parent.glob(f"incomplete.*_{path.name}"):
    logging.warning("removing an interrupted build: %s", stale)
    shutil.rmtree(stale, ignore_errors=True)


def folder_size(path) -> int:
  """Bytes of all files under path."""
  return sum(f.stat().st_size for f in pathlib.Path(path).rglob("*")
             if f.is_file())
