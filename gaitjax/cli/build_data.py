r"""Builds gaitjax's TFDS datasets (array_record; no TensorFlow needed).

  python launch/build_data.py --dataset=all_synthetic --data_dir=data
  python launch/build_data.py --dataset=camargo --data_dir=data \
      --manual_dir=/path/to/camargo2021
  python launch/build_data.py --dataset=folder --data_dir=data \
      --manual_dir=my_trials/

Pair view (gaitjax_pairs/<name>: subject-split (source, target) pairs, see
gaitjax/data/pair_dataset.py), built from the trial build (built first, or
reused):

  python launch/build_data.py --dataset=all_synthetic --pairs --data_dir=data
  python launch/build_data.py --dataset=folder_pairs --data_dir=data \
      --manual_dir=my_trials/

A complete build with the same parameters is reused; --overwrite rebuilds.
--synthetic_subjects / --synthetic_speeds shrink the synthetic cohorts for
smoke tests (the data still lands under the config's usual name).
"""
import os

from absl import flags
from absl import logging

from gaitjax import cli
from gaitjax.data import pair_dataset
from gaitjax.data import tfds_builders

_DATASET = flags.DEFINE_enum(
    "dataset", None,
    list(tfds_builders.CONFIG_NAMES) + [tfds_builders.ALL_SYNTHETIC] +
    [n + pair_dataset.SUFFIX for n in tfds_builders.CONFIG_NAMES +
     (tfds_builders.ALL_SYNTHETIC,)],
    "Which dataset to build; <name>_pairs = <name> and its pair view.")
_PAIRS = flags.DEFINE_boolean(
    "pairs", False, "Also build the pair view gaitjax_pairs/<name>.")
_NUM_TRAIN_PAIRS = flags.DEFINE_integer(
    "num_train_pairs", None, "Pair view: size of the fixed balanced training "
    "set (default 100000, paper II.E).")
_PAIR_SEED = flags.DEFINE_integer(
    "pair_seed", None, "Pair view: seed of the training draw (default 0 = "
    "configs/default.py's seed, so data.pairs='tfds' trains on the very pairs "
    "data.pairs='sample' would draw).")
_DATA_DIR = flags.DEFINE_string("data_dir", "data",
                                "TFDS data_dir to write (and later read).")
_MANUAL_DIR = flags.DEFINE_string(
    "manual_dir", None, "Raw data root for --dataset=camargo|folder.")
_OVERWRITE = flags.DEFINE_boolean(
    "overwrite", False, "Rebuild even if a complete build exists.")
_SUBJECTS = flags.DEFINE_integer(
    "synthetic_subjects", None, "Override the synthetic cohort size.")
_SPEEDS = flags.DEFINE_list(
    "synthetic_speeds", None,
    "Override the synthetic able-bodied speeds (m/s, comma-separated).")
_SPEED_CORRECTION = flags.DEFINE_string(
    "speed_correction", None,
    "Synthetic datasets: a speed_correction.json (written by "
    "launch/compare_cohorts.py --fit_correction on your own multi-speed "
    "people) that replaces the generator's default population speed "
    "correction (fitted to 8 WBDS adults).")
_MIN_CYCLES = flags.DEFINE_integer(
    "min_cycles", None, "Whole gait cycles per side a trial shorter than "
    "30 s (or the passes of one subject at one speed) must hold; it is then "
    "assembled from its cycles (default 5).")
flags.mark_flag_as_required("dataset")


def main(argv):
  if len(argv) > 1:
    cli.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  overrides = {}
  if _SUBJECTS.value is not None:
    overrides["num_subjects"] = _SUBJECTS.value
  if _MIN_CYCLES.value is not None:
    overrides["min_cycles"] = _MIN_CYCLES.value
  if _SPEED_CORRECTION.value:
    overrides["speed_correction"] = os.path.abspath(_SPEED_CORRECTION.value)
  if _SPEEDS.value:
    try:
      overrides["speeds"] = tuple(float(v) for v in _SPEEDS.value)
    except ValueError:
      cli.fail(f"--synthetic_speeds={','.join(_SPEEDS.value)}: expected "
               f"numbers in m/s")
  name = _DATASET.value
  with_pairs = _PAIRS.value or name.endswith(pair_dataset.SUFFIX)
  if name.endswith(pair_dataset.SUFFIX):
    name = name[:-len(pair_dataset.SUFFIX)]
  pair_overrides = {}
  if _NUM_TRAIN_PAIRS.value is not None:
    pair_overrides["num_train_pairs"] = _NUM_TRAIN_PAIRS.value
  if _PAIR_SEED.value is not None:
    pair_overrides["seed"] = _PAIR_SEED.value
  if pair_overrides and not with_pairs:
    cli.fail("--num_train_pairs/--pair_seed need --pairs or a *_pairs "
             "dataset")
  paths = tfds_builders.build(name, _DATA_DIR.value,
                              manual_dir=_MANUAL_DIR.value,
                              overwrite=_OVERWRITE.value, **overrides)
  if with_pairs:
    paths += [pair_dataset.build_pairs(path.parent.name, _DATA_DIR.value,
                                       overwrite=_OVERWRITE.value,
                                       **pair_overrides) for path in paths]
  for path in paths:
    print(f"{path}  ({tfds_builders.folder_size(path) / 1e6:.1f} MB)")


def run() -> None:
  """The ``gaitjax-build-data`` console script (launch/build_data.py runs the same)."""
  cli.run(main)
