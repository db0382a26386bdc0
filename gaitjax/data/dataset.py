"""One split of a built dataset as in-memory numpy arrays (``TrialSet``).

A split is small (616 trials of [600, 6] float32 is 9 MB), so it is read
once, completely, from the TFDS array_record files through a data source (no
TensorFlow), and everything downstream indexes numpy arrays.
"""
import dataclasses
import json
import os
from typing import Optional, Sequence, Tuple

import chex
import numpy as np

from gaitjax import constants
from gaitjax.data import tfds_builders
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError


def sort_order(subject, speed, origin) -> np.ndarray:
  """[N] int64 indices that sort trials by (subject, speed, origin)."""
  n = len(subject)
  return np.asarray(sorted(range(n), key=lambda i: (
      str(subject[i]), float(speed[i]), str(origin[i]))), dtype=np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class TrialSet:
  """Trials of one split, sorted by (subject, speed, origin).

  Attributes:
    x: [N, T, 6] float32 joint angles in degrees (T = 600 at 20 Hz).
    speed: [N] float32 m/s.
    subject: [N] str subject names.
    subject_index: [N] int32 index into ``subjects``.
    subjects: sorted names of the subjects present.
    cohort: [N] str, 'able_bodied' | 'stroke'.
    paretic_side: [N] str, 'left' | 'right' | '' (none).
    origin: [N] str, where each trial came from ('' if unknown).
  """
  x: np.ndarray
  speed: np.ndarray
  subject: np.ndarray
  subject_index: np.ndarray
  subjects: Tuple[str, ...]
  cohort: np.ndarray
  paretic_side: np.ndarray
  origin: Optional[np.ndarray] = None

  def __post_init__(self):
    n = self.x.shape[0]
    chex.assert_rank(self.x, 3)
    chex.assert_axis_dimension(self.x, 2, constants.NUM_CHANNELS)
    chex.assert_shape([self.speed, self.subject, self.subject_index,
                       self.cohort, self.paretic_side], (n,))
    if self.origin is None:
      object.__setattr__(self, "origin", np.full((n,), "", dtype=object))
    chex.assert_shape(self.origin, (n,))

  def __len__(self) -> int:
    return int(self.x.shape[0])

  @property
  def num_subjects(self) -> int:
    return len(self.subjects)

  @classmethod
  def from_arrays(cls, x, speed, subject, cohort=None, paretic_side=None,
                  origin=None) -> "TrialSet":
    """Builds a sorted TrialSet; subjects/subject_index derive from ``subject``.

    Args:
      x: [N, T, 6] degrees.
      speed: [N] m/s.
      subject: [N] names.
      cohort: [N] or None ('able_bodied').
      paretic_side: [N] ('' for none) or None.
      origin: [N] or None.
    """
    x = np.asarray(x, np.float32)
    n = x.shape[0]
    speed = np.asarray(speed, np.float32).reshape(n)
    subject = np.asarray([str(s) for s in subject], dtype=object).reshape(n)

    def text(values, default):
      if values is None:
        return np.full((n,), default, dtype=object)
      return np.asarray([str(v or "") for v in values],
                        dtype=object).reshape(n)

    cohort = text(cohort, "able_bodied")
    paretic_side = text(paretic_side, "")
    origin = text(origin, "")
    order = sort_order(subject, speed, origin)
    subjects = tuple(sorted(set(subject.tolist())))
    lookup = {s: i for i, s in enumerate(subjects)}
    subject = subject[order]
    return cls(x=x[order], speed=speed[order], subject=subject,
               subject_index=np.asarray([lookup[s] for s in subject],
                                        np.int32).reshape(n),
               subjects=subjects, cohort=cohort[order],
               paretic_side=paretic_side[order], origin=origin[order])

  @classmethod
  def from_trials(cls, trials: Sequence[Trial], seq_len: int = 600,
                  rate_hz: float = 20.0) -> "TrialSet":
    """Preprocesses raw trials in memory (tests, generating from one file)."""
    from gaitjax.data import preprocess
    if not trials:
      raise DataError("no trials given")
    x = np.stack([preprocess.to_model_input(t, seq_len=seq_len,
                                            rate_hz=rate_hz) for t in trials])
    return cls.from_arrays(
        x, [t.speed_mps for t in trials], [t.subject for t in trials],
        cohort=[t.cohort for t in trials],
        paretic_side=[t.paretic_side for t in trials],
        origin=[t.origin for t in trials])

  def select(self, mask) -> "TrialSet":
    """The trials where mask ([N] bool, or integer indices) holds."""
    idx = np.arange(len(self))[np.asarray(mask)]
    if idx.size == 0:
      raise DataError("selection of trials is empty")
    return TrialSet.from_arrays(self.x[idx], self.speed[idx],
                                self.subject[idx], self.cohort[idx],
                                self.paretic_side[idx], self.origin[idx])


def _not_built(data_dir, dataset: str) -> DataError:
  hint = (f" --manual_dir=RAW_ROOT" if dataset in tfds_builders.MANUAL
          else "")
  return DataError(
      f"dataset {dataset!r} is not built in {os.fspath(data_dir)}: run "
      f"python launch/build_data.py --dataset={dataset} "
      f"--data_dir={os.fspath(data_dir)}{hint}")


def _dataset_name(dataset: str) -> str:
  # Accept 'gaitjax_gait/synthetic_stroke' as well as 'synthetic_stroke'.
  prefix = tfds_builders.DATASET_NAME + "/"
  return dataset[len(prefix):] if dataset.startswith(prefix) else dataset


def load_split(data_dir, dataset: str, split: str) -> TrialSet:
  """Reads one split of a built dataset.

  Args:
    data_dir: the folder build_data.py wrote (``--data_dir``).
    dataset: a builder config name, e.g. 'synthetic_able_bodied'.
    split: 'train' | 'validation' | 'test'.

  Raises:
    DataError: not built, or the split is absent / empty (stroke datasets
      only have 'test').
  """
  return load_split_indexed(data_dir, dataset, split)[0]


def load_split_indexed(data_dir, dataset: str, split: str
                       ) -> Tuple[TrialSet, np.ndarray]:
  """load_split plus [N] int64: each trial's index in the TFDS data source.

  ``tfds.data_source('gaitjax_gait/<dataset>', split=split)[index[i]]`` is
  trial i of the TrialSet (the data source's order is TFDS's, not sorted).
  """
  import tensorflow_datasets as tfds
  dataset = _dataset_name(dataset)
  if not tfds_builders.is_built(data_dir, dataset):
    raise _not_built(data_dir, dataset)
  path = tfds_builders.dataset_path(data_dir, dataset)
  builder = tfds.builder_from_directory(os.fspath(path))
  available = [s for s, info in builder.info.splits.items()
               if info.num_examples > 0]
  if split not in available:
    raise DataError(f"dataset {dataset!r} in {os.fspath(data_dir)} has no "
                    f"examples in split {split!r}; it has "
                    f"{', '.join(sorted(available)) or 'none'}")
  source = builder.as_data_source(split=split)
  examples = source.__getitems__(list(range(len(source))))

  def text(key):
    return [e[key].decode() if isinstance(e[key], bytes) else str(e[key])
            for e in examples]

  speed = [e["speed"] for e in examples]
  subject, origin = text("subject"), text("origin")
  ts = TrialSet.from_arrays(
      np.stack([e["angles"] for e in examples]), speed, subject,
      cohort=text("cohort"), paretic_side=text("paretic_side"),
      origin=origin)
  return ts, sort_order(subject, np.asarray(speed, np.float32), origin)


def read_build_info(data_dir, dataset: str) -> dict:
  """The build's gaitjax_stats.json: stats, splits, build parameters."""
  dataset = _dataset_name(dataset)
  if not tfds_builders.is_built(data_dir, dataset):
    raise _not_built(data_dir, dataset)
  path = tfds_builders.dataset_path(data_dir, dataset) / \
      tfds_builders.STATS_FILE
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise DataError(f"{path}: unreadable statistics file ({e}); rebuild "
                    f"with --overwrite") from None


def load_stats(data_dir, dataset: str):
  """The dataset's normalisation statistics (NormStats, paper II.C)."""
  from gaitjax.data import normalize
  info = read_build_info(data_dir, dataset)
  if "stats" not in info:
    raise DataError(f"{tfds_builders.dataset_path(data_dir, dataset)}: "
                    f"{tfds_builders.STATS_FILE} has no 'stats'; rebuild with "
                    f"--overwrite")
  return normalize.NormStats.from_dict(info["stats"])


def within_subject_pairs(ts: TrialSet) -> np.ndarray:
  """[P, 2] all (src, tgt) trial indices of the same subject; see pairs.py."""
  from gaitjax.data import pairs
  return pairs.within_subject_pairs(ts)
