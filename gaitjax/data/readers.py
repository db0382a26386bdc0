"""Readers of real trial collections: ``list[Trial]``, one per subject, speed.

Two layouts:

* ``read_folder``: a folder of your own recordings::

    <root>/subjects.csv   subject,cohort,paretic_side   (able_bodied|stroke;
                                                         left|right|empty)
                          [,split]  optional: train|validation|test per
                                    subject (your own split, e.g. leave one
                                    person out); read by read_folder_splits
    <root>/trials.csv     subject,speed_mps,path        (path relative to root)
    <root>/<path>         .csv / .mot / .npz, see gaitjax.data.trial_files.read_trial_file
                          (several rows of one subject and speed: passes)

* ``read_camargo``: Camargo et al. 2021 (J. Biomech. 119:110320)::

    <root>/<subject>/<date>/treadmill/ik/treadmill_XX_YY.mat    table `data`
    <root>/<subject>/<date>/treadmill/conditions/<same name>    table `speed`

  Each treadmill trial walks several constant-speed plateaus joined by
  ramps; every plateau with >= 30 s of steady speed becomes one Trial of
  exactly 30 s (the paper's segment, II.C).

MATLAB tables are decoded with the PyPI package mat-io (import name
``matio``; ``matio.load_from_mat`` returns a table as a pandas DataFrame).
``_load_table`` also accepts a plain MAT v5 struct whose fields are the
columns (what ``scipy.io.savemat`` writes), so a converted copy of the data
works too.
"""
import csv
import dataclasses
import pathlib
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from absl import logging
import numpy as np
from scipy import ndimage

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.data import trial_files
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError

PathLike = Union[str, pathlib.Path]

SUBJECTS_COLUMNS: Tuple[str, ...] = ("subject", "cohort", "paretic_side")
TRIALS_COLUMNS: Tuple[str, ...] = ("subject", "speed_mps", "path")

# Camargo ik columns for constants.CHANNELS, and which ones to negate
# (OpenSim's knee_angle is flexion-negative).
CAMARGO_IK_COLUMNS: Tuple[str, ...] = constants.CHANNELS
CAMARGO_NEGATE: Tuple[str, ...] = ("knee_angle_r", "knee_angle_l")
CAMARGO_TIME = "Header"
CAMARGO_SPEED = "Speed"


@dataclasses.dataclass(frozen=True)
class Plateau:
  """A stretch of constant treadmill speed: times in s, level in m/s."""
  start_s: float
  end_s: float
  level_mps: float

  @property
  def duration_s(self) -> float:
    return self.end_s - self.start_s


# ------------------------------------------------------------- folder layout
def _read_csv_rows(path: pathlib.Path, columns: Sequence[str]
                   ) -> List[Tuple[int, Dict[str, str]]]:
  """(file line, row dict) of a small CSV whose header must hold ``columns``."""
  if not path.is_file():
    raise DataError(f"{path}: not found (expected a CSV with columns "
                    f"{', '.join(columns)})")
  try:
    with open(path, "r", encoding="utf-8", newline="") as f:
      records = list(csv.reader(f, strict=True))
  except (csv.Error, UnicodeDecodeError) as e:
    raise DataError(f"{path}: malformed CSV ({e})") from e
  records = [(i + 1, r) for i, r in enumerate(records)
             if any(field.strip() for field in r)]
  if not records:
    raise DataError(f"{path}: empty file (expected a header "
                    f"{','.join(columns)})")
  header = [h.strip() for h in records[0][1]]
  missing = [c for c in columns if c not in header]
  if missing or len(set(header)) != len(header):
    raise DataError(f"{path}: bad header {','.join(header)!r}; expected "
                    f"columns {','.join(columns)}")
  rows = []
  for line, fields in records[1:]:
    if len(fields) != len(header):
      raise DataError(f"{path}: line {line} has {len(fields)} fields, the"
                      f" header has {len(header)}")
    rows.append((line, {h: v.strip() for h, v in zip(header, fields)}))
  return rows


def _read_subjects(path: pathlib.Path
                   ) -> Dict[str, Tuple[str, Optional[str]]]:
  subjects = {}
  for line, row in _read_csv_rows(path, SUBJECTS_COLUMNS):
    where = f"{path} line {line}"
    name, cohort, side = row["subject"], row["cohort"], row["paretic_side"]
    if not name:
      raise DataError(f"{where}: empty subject name")
    if name in subjects:
      raise DataError(f"{where}: subject {name!r} listed twice")
    if cohort not in constants.COHORTS:
      raise DataError(f"{where}: unknown cohort {cohort!r}; expected one of "
                      f"{', '.join(constants.COHORTS)}")
    if side and side not in constants.PARETIC_SIDES:
      raise DataError(f"{where}: paretic_side {side!r} must be left, right or"
                      " empty")
    if side and cohort != "stroke":
      raise DataError(f"{where}: paretic_side given for a {cohort} subject;"
                      " leave it empty")
    subjects[name] = (cohort, side or None)
  if not subjects:
    raise DataError(f"{path}: no subjects listed")
  return subjects


SPLIT_COLUMN = "split"
SPLIT_NAMES: Tuple[str, ...] = ("train", "validation", "test")


def read_folder_splits(root: PathLike) -> Optional[Dict[str, str]]:
  """subject -> split from subjects.csv's optional ``split`` column.

  None when the column is absent (the build then splits by its counts and
  seed). With the column, every subject needs train, validation or test,
  and stroke subjects test (the paper never trains on them).
  """
  path = pathlib.Path(root) / "subjects.csv"
  rows = _read_csv_rows(path, SUBJECTS_COLUMNS)
  if not rows or SPLIT_COLUMN not in rows[0][1]:
    return None
  out = {}
  for line, row in rows:
    where = f"{path} line {line}"
    split = row[SPLIT_COLUMN]
    if split not in SPLIT_NAMES:
      raise DataError(f"{where}: split {split!r} must be one of "
                      f"{', '.join(SPLIT_NAMES)} (or drop the column)")
    if row["cohort"] == "stroke" and split != "test":
      raise DataError(f"{where}: stroke subject {row['subject']!r} must be "
                      f"in 'test', got {split!r}")
    out[row["subject"]] = split
  return out


def _parse_speed(where: str, text: str) -> float:
  try:
    speed = float(text)
  except ValueError:
    raise DataError(f"{where}: speed_mps {text!r} is not a number (m/s)"
                    ) from None
  if not (np.isfinite(speed) and speed > 0):
    raise DataError(f"{where}: speed_mps must be a positive number of m/s, "
                    f"got {text!r}")
  return speed


def read_folder(root: PathLike) -> List[Trial]:
  """Reads ``<root>/subjects.csv``, ``<root>/trials.csv`` and the trial files.

  Returns trials in the order of trials.csv; each trial's rate comes from its
  time column. Several rows of one subject at one speed are passes of one
  condition (e.g. overground passes of 3-6 strides): they stay separate
  Trials here and are joined at matching phase into one model input by
  ``gaitjax.data.assemble`` (the build and sample.py do it). The same file
  listed twice for one condition is refused.
  """
  root = pathlib.Path(root)
  if not root.is_dir():
    raise DataError(f"{root}: data folder not found")
  if not any(root.iterdir()):
    raise DataError(f"{root}: empty folder (expected subjects.csv, trials.csv"
                    " and trial files)")
  subjects_csv, trials_csv = root / "subjects.csv", root / "trials.csv"
  subjects = _read_subjects(subjects_csv)
  trials_rows = _read_csv_rows(trials_csv, TRIALS_COLUMNS)
  if not trials_rows:
    raise DataError(f"{trials_csv}: no trials listed")
  trials, seen = [], {}
  for line, row in trials_rows:
    where = f"{trials_csv} line {line}"
    name = row["subject"]
    if name not in subjects:
      raise DataError(f"{where}: subject {name!r} is not in {subjects_csv}")
    speed = _parse_speed(where, row["speed_mps"])
    if not row["path"]:
      raise DataError(f"{where}: empty path")
    key = (name, round(speed, 6), str(pathlib.PurePath(row["path"])))
    if key in seen:
      raise DataError(f"{where}: {row['path']} of subject {name!r} at "
                      f"{speed:g} m/s already given on line {seen[key]}")
    seen[key] = line
    path = root / row["path"]
    try:
      time, angles = trial_files.read_trial_file(path)
    except DataError as e:
      raise DataError(f"{where}: {e}") from e
    cohort, side = subjects[name]
    trials.append(Trial(
        subject=name, speed_mps=speed, angles=angles,
        rate_hz=preprocess.sampling_rate(time, where=str(path)),
        cohort=cohort, paretic_side=side, origin=str(path)))
  return trials


# ---------------------------------------------------------- MATLAB tables
def _unwrap(value: Any) -> Any:
  # mat-io gives cell entries as 1-element arrays (['AB06']).
  while isinstance(value, np.ndarray) and value.size == 1:
    value = value.reshape(-1)[0]
  return value.item() if isinstance(value, np.generic) else value


def import_matio():
  """The mat-io package (import name ``matio``), imported quietly.

  mat-io 1.0.2 sets ``pandas.options.future.infer_string`` at import, which
  pandas 3 answers with a deprecation warning that is not ours to fix.
  """
  with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*infer_string.*")
    import matio  # pylint: disable=g-import-not-at-top
  return matio


def _load_table(path: PathLike, var: str) -> Dict[str, np.ndarray]:
  """Column name -> [N] values of MATLAB variable ``var`` in ``path``.

  ``var`` may be a MATLAB table (decoded by mat-io as a DataFrame) or a
  struct whose fields are equally long column vectors (scipy.io.savemat).
  Numeric columns come back as float64, others as object arrays.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise DataError(f"{path}: no such file")
  try:
    matio = import_matio()
  except ImportError as e:
    raise DataError(f"{path}: reading MATLAB tables needs the mat-io package"
                    " (pip install mat-io)") from e
  try:
    contents = matio.load_from_mat(str(path), variable_names=[var])
  except Exception as e:  # pylint: disable=broad-except
    # A damaged file can fail anywhere in mat-io's parser, with any type.
    reason = " ".join(str(e).split())  # one line, whatever mat-io says
    raise DataError(f"{path}: cannot read MAT-file ({type(e).__name__}: "
                    f"{reason})") from e
  if var not in contents:
    raise DataError(f"{path}: no variable {var!r} in the MAT-file")
  obj = contents[var]
  if hasattr(obj, "columns") and hasattr(obj, "to_numpy"):  # a table
    columns = {str(c): obj[c].to_numpy() for c in obj.columns}
  elif isinstance(obj, np.ndarray) and obj.dtype.names and obj.size == 1:
    record = obj.reshape(-1)[0]
    columns = {n: np.asarray(record[n]).reshape(-1) for n in obj.dtype.names}
  else:
    raise DataError(f"{path}: variable {var!r} is a {type(obj).__name__}"
                    f" {getattr(obj, 'shape', '')}, expected a MATLAB table"
                    " or a struct of columns")
  out = {}
  for name, col in columns.items():
    col = np.asarray(col).reshape(-1)
    if col.dtype == object:
      col = np.array([_unwrap(v) for v in col], dtype=object)
      try:
        col = col.astype(np.float64)
      except (TypeError, ValueError):
        pass
    elif np.issubdtype(col.dtype, np.number):
      col = col.astype(np.float64)
    out[name] = col
  lengths = {len(c) for c in out.values()}
  if len(lengths) > 1:
    raise DataError(f"{path}: columns of {var!r} differ in length "
                    f"{sorted(lengths)}")
  return out


def _numeric_column(table: Dict[str, np.ndarray], name: str,
                    where: str) -> np.ndarray:
  if name not in table:
    raise DataError(f"{where}: missing column {name!r} (have: "
                    f"{', '.join(list(table)[:12])})")
  col = table[name]
  if col.dtype != np.float64:
    raise DataError(f"{where}: column {name!r} is not numeric")
  return col


def read_subject_info(path: PathLike) -> Dict[str, Dict[str, Any]]:
  """Camargo's SubjectInfo.mat (table ``data``) -> {subject: {field: value}}."""
  table = _load_table(path, "data")
  if "Subject" not in table:
    raise DataError(f"{path}: missing column 'Subject'")
  fields = [c for c in table if c != "Subject"]
  return {str(s): {f: _unwrap(table[f][i]) for f in fields}
          for i, s in enumerate(table["Subject"])}


# ------------------------------------------------------ plateaus (pure numpy)
def _runs(mask: np.ndarray) -> List[Tuple[int, int]]:
  """[start, stop) index pairs of the True runs of a boolean [N] mask."""
  edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
  return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def find_plateaus(time: np.ndarray, speed: np.ndarray, *, tol: float = 0.01,
                  min_duration_s: float = 30.0, window_s: float = 1.0,
                  min_speed: float = 0.1) -> List[Plateau]:
  """Constant-speed stretches of a treadmill speed signal.

  A sample is steady when the speed varies by at most 2 tol within
  ``window_s`` around it. Within each steady run the level is the median
  speed; the plateau is the longest contiguous stretch of samples within
  ±tol of it (ramp ends included). Kept when it lasts >= ``min_duration_s``
  at a level >= ``min_speed`` (standing excluded).

  Args:
    time: [N] s, increasing.
    speed: [N] m/s.
  """
  time = np.asarray(time, dtype=np.float64)
  speed = np.asarray(speed, dtype=np.float64)
  if time.shape != speed.shape or time.ndim != 1 or time.size < 2:
    raise DataError(f"speed signal: need matching [N] time and speed, got "
                    f"{time.shape} and {speed.shape}")
  dt = float(np.median(np.diff(time)))
  width = max(1, int(round(window_s / dt)))
  spread = (ndimage.maximum_filter1d(speed, width, mode="nearest")
            - ndimage.minimum_filter1d(speed, width, mode="nearest"))
  plateaus = []
  for start, stop in _runs(np.isfinite(spread) & (spread <= 2.0 * tol)):
    level = float(np.median(speed[start:stop]))
    near = np.abs(speed - level) <= tol
    a, b = max(_runs(near[start:stop]), key=lambda r: r[1] - r[0])
    # The window test trims ~window_s / 2 at each end: grow back over the
    # samples still within tol of the level.
    before = np.flatnonzero(~near[:start + a])
    after = np.flatnonzero(~near[start + b:])
    a = int(before[-1]) + 1 if before.size else 0
    b = start + b + int(after[0]) if after.size else speed.shape[0]
    if plateaus and a < plateaus[-1][1]:
      continue  # the same plateau, reached again from a neighbouring run
    plateaus.append((a, b, level))
  return [Plateau(float(time[a]), float(time[b - 1]),
                  float(np.mean(speed[a:b])))
          for a, b, level in plateaus
          if time[b - 1] - time[a] >= min_duration_s and level >= min_speed]


def steady_window(plateau: Plateau, duration_s: float = 30.0,
                  skip_s: float = 5.0) -> Tuple[float, float]:
  """(start, end) s of the ``duration_s`` window taken from a plateau.

  Skips up to ``skip_s`` after the ramp (the gait settles), less when the
  plateau is too short to skip it all.
  """
  start = plateau.start_s + max(0.0, min(skip_s,
                                         plateau.duration_s - duration_s))
  return start, start + duration_s


def round_speed(speed: float, step: float = 0.05) -> float:
  """Nearest multiple of ``step`` m/s as a clean decimal (0.55, not 0.55001)."""
  return round(round(speed / step) * step, 6)


# --------------------------------------------------------------- Camargo
def _camargo_angles(table: Dict[str, np.ndarray], where: str
                    ) -> Tuple[np.ndarray, np.ndarray]:
  time = _numeric_column(table, CAMARGO_TIME, where)
  cols = []
  for name in CAMARGO_IK_COLUMNS:
    col = _numeric_column(table, name, where)
    cols.append(-col if name in CAMARGO_NEGATE else col)
  return time, np.stack(cols, axis=1)


def _trial_segments(ik_path: pathlib.Path, cond_path: pathlib.Path, *,
                    duration_s: float, skip_s: float, tol: float,
                    speed_step: float
                    ) -> List[Tuple[float, np.ndarray, float, str]]:
  """(speed, angles [n, 6], rate, origin) for each plateau of one trial."""
  ik = _load_table(ik_path, "data")
  time, angles = _camargo_angles(ik, str(ik_path))
  rate = preprocess.sampling_rate(time, where=str(ik_path))
  cond = _load_table(cond_path, "speed")
  cond_time = _numeric_column(cond, CAMARGO_TIME, str(cond_path))
  speed = _numeric_column(cond, CAMARGO_SPEED, str(cond_path))
  count = int(round(duration_s * rate))
  out = []
  for plateau in find_plateaus(cond_time, speed, tol=tol,
                               min_duration_s=duration_s):
    start, end = steady_window(plateau, duration_s, skip_s)
    first = int(np.searchsorted(time, start - 0.5 / rate))
    if first + count > time.shape[0]:
      logging.warning("%s: ik data end before the %.2f m/s plateau's window"
                      " %.1f-%.1f s; skipped", ik_path, plateau.level_mps,
                      start, end)
      continue
    seg = angles[first:first + count]
    if not np.all(np.isfinite(seg)):
      logging.warning("%s: NaN in ik during the %.2f m/s window %.1f-%.1f s;"
                      " skipped", ik_path, plateau.level_mps, start, end)
      continue
    out.append((round_speed(plateau.level_mps, speed_step), seg, rate,
                f"{ik_path}@{start:.2f}-{end:.2f}s"))
  return out


def read_camargo(root: PathLike, *, duration_s: float = constants.DURATION_S,
                 skip_s: float = 5.0, tol: float = 0.01,
                 speed_step: float = 0.05) -> List[Trial]:
  """Reads Camargo 2021 treadmill trials: one 30 s Trial per subject, speed.

  Every ``<subject>/<date>/treadmill/ik/*.mat`` with a matching conditions
  file is scanned (sorted by path); each plateau lasting >= ``duration_s``
  gives one window (``steady_window``) with speed rounded to ``speed_step``.
  A speed seen again for the same subject keeps the first occurrence.
  Angles: knee negated to flexion +. ``<root>/SubjectInfo.mat``, if present,
  only serves to log subjects it does not list.
  """
  root = pathlib.Path(root)
  if not root.is_dir():
    raise DataError(f"{root}: Camargo data folder not found")
  ik_files = sorted(root.glob("*/*/treadmill/ik/*.mat"))
  if not ik_files:
    raise DataError(f"{root}: no treadmill trials found (expected "
                    "<subject>/<date>/treadmill/ik/treadmill_XX_YY.mat)")
  trials, seen = [], set()
  for ik_path in ik_files:
    subject = ik_path.relative_to(root).parts[0]
    cond_path = ik_path.parent.parent / "conditions" / ik_path.name
    if not cond_path.is_file():
      raise DataError(f"{cond_path}: no such file (the speed table for "
                      f"{ik_path})")
    for speed, seg, rate, origin in _trial_segments(
        ik_path, cond_path, duration_s=duration_s, skip_s=skip_s, tol=tol,
        speed_step=speed_step):
      if (subject, speed) in seen:
        continue
      seen.add((subject, speed))
      trials.append(Trial(subject=subject, speed_mps=speed, angles=seg,
                          rate_hz=rate, cohort="able_bodied", origin=origin))
  if not trials:
    raise DataError(f"{root}: no constant-speed plateau of >= {duration_s:g}"
                    f" s found in {len(ik_files)} treadmill trials")
  _log_unlisted_subjects(root, {t.subject for t in trials})
  return trials


def _log_unlisted_subjects(root: pathlib.Path, subjects: set) -> None:
  info_path = root / "SubjectInfo.mat"
  if not info_path.is_file():
    return
  try:
    info = read_subject_info(info_path)
  except DataError as e:
    logging.warning("ignoring %s: %s", info_path, e)
    return
  unlisted = sorted(subjects - set(info))
  if unlisted:
    logging.warning("%s does not list subjects %s", info_path, unlisted)
