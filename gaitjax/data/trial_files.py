"""Trial files: OpenSim .mot and trial .csv/.mot/.npz, read and written.

Every reader turns a problem with the user's file into a one-line
``DataError`` that names the file, the column / line and what was expected;
every writer is atomic (``gaitjax.files``).

Trial files (``read_trial_file``) hold a ``time`` column in seconds and the
six channels of ``gaitjax.constants.CHANNELS`` in degrees with clinical signs.
CSV and .mot columns are found by name, in any order, extra columns ignored.
Aliases: ``time_s`` for ``time`` and ``<joint>_<r|l>`` (e.g. ``knee_r``) for
the OpenSim names, the layout of the Fukuchi 2018 derived files. Signs are
taken as written: the Rajagopal model's knee_angle is flexion +, gait2392's
(Camargo) is flexion - and preprocess.check_plausible refuses it.
"""
import csv
import dataclasses
import os
import pathlib
import zipfile
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.errors import DataError
from gaitjax.files import PathLike, atomic_save_npz, atomic_write_text

TRIAL_EXTENSIONS: Tuple[str, ...] = (".csv", ".mot", ".npz")
# Two samples are the least that define a sampling rate; whether a trial is
# long enough for the model is preprocess.to_model_input's business.
MIN_TRIAL_ROWS: int = 2
TIME_ALIASES: Tuple[str, ...] = ("time", "time_s")
# .mot coordinates that are translations (m), not angles: never converted.
_TRANSLATION_SUFFIXES: Tuple[str, ...] = ("_tx", "_ty", "_tz")


# ---------------------------------------------------------------- OpenSim .mot
@dataclasses.dataclass
class MotData:
  """Contents of an OpenSim .mot / .sto file.

  Attributes:
    columns: C column labels, including 'time'.
    data: [T, C] float64; angles in degrees whatever the file's unit
      (translations ``*_tx/_ty/_tz`` and time untouched).
    in_degrees: the file's own ``inDegrees`` flag (False: data were
      converted from radians on reading).
    header: the header's ``key=value`` pairs; the first free-text line (the
      file's name) under 'name'.
  """
  columns: List[str]
  data: np.ndarray  # [T, C]
  in_degrees: bool
  header: Dict[str, str]

  def column(self, name: str) -> np.ndarray:
    """The [T] values of column ``name`` (KeyError if absent)."""
    return self.data[:, self.columns.index(name)]


def _read_text_lines(path: pathlib.Path) -> List[str]:
  _check_input_file(path)
  try:
    with open(path, "r", encoding="utf-8", newline="") as f:
      return f.read().splitlines()
  except UnicodeDecodeError as e:
    raise DataError(f"{path}: not a text file ({e.reason} at byte "
                    f"{e.start})") from e
  except OSError as e:
    raise DataError(f"{path}: cannot read ({e.strerror or e})") from e


def read_mot(path: PathLike) -> MotData:
  """Reads an OpenSim .mot/.sto file (header ... endheader, labels, rows)."""
  path = pathlib.Path(path)
  lines = _read_text_lines(path)
  end = next((i for i, line in enumerate(lines)
              if line.strip().lower() == "endheader"), None)
  if end is None:
    raise DataError(f"{path}: no 'endheader' line; not an OpenSim .mot/.sto"
                    " file")
  header: Dict[str, str] = {}
  for line in lines[:end]:
    text = line.strip()
    if "=" in text:
      key, value = text.split("=", 1)
      header[key.strip()] = value.strip()
    elif text and "name" not in header:
      header["name"] = text
  flag = header.get("inDegrees")
  if flag is None:
    raise DataError(f"{path}: header has no inDegrees=yes|no line; the angle"
                    " unit is unknown")
  if flag.lower() not in ("yes", "no"):
    raise DataError(f"{path}: inDegrees must be yes or no, got {flag!r}")
  in_degrees = flag.lower() == "yes"

  body = [(i + 1, line) for i, line in enumerate(lines[end + 1:], end + 1)
          if line.strip()]
  if not body:
    raise DataError(f"{path}: no column labels after endheader")
  _, label_line = body[0]
  columns = label_line.split()
  _refuse_duplicates(path, columns)
  if "time" not in columns:
    raise DataError(f"{path}: no 'time' column (columns: "
                    f"{', '.join(columns[:8])}...)")
  rows = []
  for line_no, line in body[1:]:
    fields = line.split()
    if len(fields) != len(columns):
      raise DataError(f"{path}: line {line_no} has {len(fields)} values,"
                      f" the labels line has {len(columns)} columns")
    rows.append([_parse_float(path, line_no, columns[j], v)
                 for j, v in enumerate(fields)])
  if not rows:
    raise DataError(f"{path}: no data rows after the column labels")
  data = np.asarray(rows, dtype=np.float64)
  if not in_degrees:
    for j, name in enumerate(columns):
      if name != "time" and not name.endswith(_TRANSLATION_SUFFIXES):
        data[:, j] = np.degrees(data[:, j])
  return MotData(columns=columns, data=data, in_degrees=in_degrees,
                 header=header)


def write_mot(path: PathLike, time: np.ndarray, angles: np.ndarray,
              columns: Sequence[str] = constants.CHANNELS,
              name: str = "gaitjax") -> None:
  """Writes ``time: [T]`` s and ``angles: [T, C]`` deg as an OpenSim .mot."""
  time, angles = _check_write_arrays(path, time, angles, len(columns))
  header = [name, "version=1", f"nRows={time.shape[0]}",
            f"nColumns={len(columns) + 1}", "inDegrees=yes", "endheader",
            "\t".join(("time",) + tuple(columns))]
  rows = ["\t".join([f"{t:.8f}"] + [f"{v:.6f}" for v in row])
          for t, row in zip(time, angles)]
  atomic_write_text(path, "\n".join(header + rows) + "\n")


# -------------------------------------------------------------- trial files
def read_trial_file(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
  """Reads one trial: ``(time [T] s, angles [T, 6] deg)``, float64.

  ``.csv`` / ``.mot``: a time column and the six channels by name;
  ``.npz``: arrays ``time`` [T] and ``angles`` [T, 6] (CHANNELS order).
  Time must be strictly increasing and uniform; values finite.
  """
  path = pathlib.Path(path)
  _check_input_file(path)
  ext = path.suffix.lower()
  if ext == ".csv":
    names, table, first_line = _read_csv_table(path)
    time, angles = _pick_channels(path, names, table)
  elif ext == ".mot":
    mot = read_mot(path)
    time, angles = _pick_channels(path, mot.columns, mot.data)
    first_line = None
  elif ext == ".npz":
    time, angles = _read_trial_npz(path)
    first_line = None
  else:
    raise DataError(f"{path}: unknown extension {path.suffix!r}; a trial file"
                    f" must be one of {', '.join(TRIAL_EXTENSIONS)}")
  _check_trial_arrays(path, time, angles, first_line)
  return time, angles


def write_trial_csv(path: PathLike, time: np.ndarray,
                    angles: np.ndarray) -> None:
  """Writes ``time: [T]`` s and ``angles: [T, 6]`` deg as a trial CSV."""
  time, angles = _check_write_arrays(path, time, angles,
                                     constants.NUM_CHANNELS)
  lines = [",".join(("time",) + constants.CHANNELS)]
  lines += [",".join([f"{t:.8f}"] + [f"{v:.6f}" for v in row])
            for t, row in zip(time, angles)]
  atomic_write_text(path, "\n".join(lines) + "\n")


def write_trial_npz(path: PathLike, time: np.ndarray, angles: np.ndarray,
                    **meta: Any) -> None:
  """Writes a trial .npz: ``time`` [T], ``angles`` [T, 6] and ``meta``."""
  time, angles = _check_write_arrays(path, time, angles,
                                     constants.NUM_CHANNELS)
  atomic_save_npz(path, time=time, angles=angles, **meta)


# ------------------------------------------------------------------- helpers
def _check_input_file(path: pathlib.Path) -> None:
  if path.is_dir():
    raise DataError(f"{path}: is a folder, expected a file")
  if not path.is_file():
    raise DataError(f"{path}: no such file")


def _check_write_arrays(path: PathLike, time: np.ndarray, angles: np.ndarray,
                        num_columns: int) -> Tuple[np.ndarray, np.ndarray]:
  time = np.asarray(time, dtype=np.float64)
  angles = np.asarray(angles, dtype=np.float64)
  if time.ndim != 1 or angles.shape != (time.shape[0], num_columns):
    raise DataError(f"{os.fspath(path)}: need time [T] and angles [T, "
                    f"{num_columns}], got {time.shape} and {angles.shape}")
  if not (np.all(np.isfinite(time)) and np.all(np.isfinite(angles))):
    raise DataError(f"{os.fspath(path)}: refusing to write NaN/Inf values")
  return time, angles


def _parse_float(path: pathlib.Path, line_no: int, column: str,
                 text: str) -> float:
  try:
    return float(text)
  except ValueError:
    raise DataError(f"{path}: line {line_no}, column {column!r}: {text!r} is"
                    " not a number") from None


def _refuse_duplicates(path: pathlib.Path, names: Sequence[str]) -> None:
  seen = set()
  for name in names:
    if name in seen:
      raise DataError(f"{path}: column {name!r} appears more than once")
    seen.add(name)


def _read_csv_table(path: pathlib.Path
                    ) -> Tuple[List[str], np.ndarray, int]:
  """Returns (header names, [T, C] float64 values, file line of row 0)."""
  lines = _read_text_lines(path)
  try:
    records = list(csv.reader(lines, strict=True))
  except csv.Error as e:
    raise DataError(f"{path}: malformed CSV ({e})") from e
  numbered = [(i + 1, r) for i, r in enumerate(records)
              if any(field.strip() for field in r)]
  if not numbered:
    raise DataError(f"{path}: empty CSV file (expected a header line)")
  _, names = numbered[0]
  names = [n.strip() for n in names]
  if any(not n for n in names):
    raise DataError(f"{path}: malformed CSV header (empty column name):"
                    f" {','.join(names)}")
  _refuse_duplicates(path, names)
  rows = []
  for line_no, fields in numbered[1:]:
    if len(fields) != len(names):
      raise DataError(f"{path}: malformed CSV, line {line_no} has "
                      f"{len(fields)} fields, the header has {len(names)}")
    rows.append([_parse_float(path, line_no, names[j], v.strip())
                 for j, v in enumerate(fields)])
  first_line = numbered[1][0] if len(numbered) > 1 else 2
  table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
  return names, table, first_line


def _find_column(path: pathlib.Path, names: Sequence[str],
                 aliases: Sequence[str]) -> int:
  found = [a for a in aliases if a in names]
  if len(found) > 1:
    raise DataError(f"{path}: columns {' and '.join(found)} both present;"
                    " keep one")
  if not found:
    raise DataError(f"{path}: missing column {aliases[0]!r} (have: "
                    f"{', '.join(names)})")
  return list(names).index(found[0])


def _channel_aliases(channel: str) -> Tuple[str, str]:
  joint = constants.joint_of(constants.CHANNELS.index(channel))
  return channel, f"{joint}_{channel[-1]}"


def _pick_channels(path: pathlib.Path, names: Sequence[str],
                   table: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  t_col = _find_column(path, names, TIME_ALIASES)
  cols = [_find_column(path, names, _channel_aliases(c))
          for c in constants.CHANNELS]
  return table[:, t_col].copy(), table[:, cols].copy()


def _read_trial_npz(path: pathlib.Path) -> Tuple[np.ndarray, np.ndarray]:
  # np.load would try anything that is not a zip as a pickle and say so.
  if not zipfile.is_zipfile(path):
    raise DataError(f"{path}: not an .npz file (not a zip archive)")
  try:
    with np.load(path, allow_pickle=False) as npz:
      missing = [k for k in ("time", "angles") if k not in npz.files]
      if missing:
        raise DataError(f"{path}: missing array {missing[0]!r} (have: "
                        f"{', '.join(npz.files) or 'none'})")
      time, angles = npz["time"], npz["angles"]
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    if isinstance(e, DataError):
      raise
    raise DataError(f"{path}: not a readable .npz file ({e})".replace(
        "\n", " ")) from e
  if not (np.issubdtype(time.dtype, np.number)
          and np.issubdtype(angles.dtype, np.number)):
    raise DataError(f"{path}: time and angles must be numeric, got "
                    f"{time.dtype} and {angles.dtype}")
  if time.ndim != 1 or angles.shape != (time.shape[0],
                                        constants.NUM_CHANNELS):
    channels = ", ".join(constants.CHANNELS)
    raise DataError(f"{path}: need time [T] and angles [T, "
                    f"{constants.NUM_CHANNELS}] ({channels}), got "
                    f"{time.shape} and {angles.shape}")
  return time.astype(np.float64), angles.astype(np.float64)


def _check_trial_arrays(path: pathlib.Path, time: np.ndarray,
                        angles: np.ndarray, first_line) -> None:
  """Rows, finiteness and time grid; rows named by file line when known."""
  def where(i: int) -> str:
    return f"line {first_line + i}" if first_line else f"sample {i}"

  if time.shape[0] < MIN_TRIAL_ROWS:
    raise DataError(f"{path}: too few rows ({time.shape[0]}); need at least"
                    f" {MIN_TRIAL_ROWS}")
  preprocess.check_time_finite(time, str(path), where)
  bad = np.argwhere(~np.isfinite(angles))
  if bad.size:
    i, j = (int(v) for v in bad[0])
    raise DataError(f"{path}: NaN/Inf in {constants.CHANNELS[j]} at "
                    f"{where(i)}")
  preprocess.check_time_increasing(time, str(path), where)
  preprocess.sampling_rate(time, where=str(path))
