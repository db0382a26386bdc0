"""Files: atomic writers and the one numpy-to-JSON conversion.

Every writer goes through one atomic path (temp file in the target folder,
flush, fsync, ``os.replace``), so a crash or a full disk never leaves a
half-written result under the final name. Trial-file formats (.csv, .mot,
.npz) live with the data readers, in ``gaitjax.data.trial_files``.
"""
import dataclasses
import json
import math
import os
import pathlib
import tempfile
from typing import Any, Callable, Mapping, Union

import numpy as np

from gaitjax.errors import DataError

PathLike = Union[str, os.PathLike]


def _read_umask() -> int:
  # os.umask can only be read by setting it; do it once, at import.
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


_UMASK = _read_umask()


# --------------------------------------------------------------- atomic writes
def _atomic_write(path: PathLike, write: Callable[[Any], None]) -> None:
  """Writes through ``write(binary_file)`` to a temp file, then renames it."""
  path = os.fspath(path)
  folder = os.path.dirname(os.path.abspath(path))
  tmp = None
  try:
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp", dir=folder)
    with os.fdopen(fd, "wb") as f:
      write(f)
      f.flush()
      os.fsync(f.fileno())
    # mkstemp creates 0600; give the result the permissions open() would.
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)
    tmp = None
  except OSError as e:
    reason = e.strerror or str(e)
    raise DataError(f"{path}: cannot write ({reason})") from e
  finally:
    if tmp is not None:
      try:
        os.remove(tmp)
      except OSError:
        pass
  _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
  # Makes the rename itself durable; not possible on every platform.
  try:
    fd = os.open(folder, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
  """Writes ``data`` to ``path`` atomically (DataError if impossible)."""
  _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: PathLike, text: str) -> None:
  """Writes ``text`` (UTF-8) to ``path`` atomically."""
  atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npz(path: PathLike, **arrays: Any) -> None:
  """``np.savez`` to ``path`` atomically; object arrays are refused.

  Refusing pickles keeps every file readable with ``allow_pickle=False``.
  """
  arrays = {k: np.asarray(v) for k, v in arrays.items()}
  for key, value in arrays.items():
    if value.dtype == object:
      raise DataError(f"{os.fspath(path)}: array {key!r} has dtype object;"
                      " only numeric or string arrays can be saved")
  _atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))



def _key(k: Any) -> Any:
  # json.dumps writes these keys itself; anything else (a numpy int) as text.
  if k is None or isinstance(k, (str, int, float, bool)):
    return k
  return str(k)


def to_jsonable(x: Any, *, finite_only: bool = False,
                strict: bool = True) -> Any:
  """numpy values, paths and dataclasses -> plain JSON values, recursively.

  Args:
    x: anything built from dicts, lists, tuples, dataclasses, numpy arrays
      and scalars, paths, str, int, float, bool, None.
    finite_only: NaN/Inf floats become None (strict JSON, e.g. metrics.json);
      otherwise they stay floats (json writes NaN / Infinity).
    strict: an unknown type raises TypeError; otherwise it becomes str(x).

  Returns:
    dicts (str keys), lists, str, int, float, bool and None only.
  """
  def conv(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
      return bool(v)
    if isinstance(v, (int, np.integer)):
      return int(v)
    if isinstance(v, (float, np.floating)):
      v = float(v)
      return None if finite_only and not math.isfinite(v) else v
    if v is None or isinstance(v, str):
      return v
    if isinstance(v, Mapping):
      return {_key(k): conv(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
      return [conv(w) for w in v]
    if isinstance(v, np.ndarray):
      return conv(v.tolist())
    if isinstance(v, np.generic):
      return conv(v.item())
    if isinstance(v, pathlib.PurePath):
      return str(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
      return conv(dataclasses.asdict(v))
    if strict:
      raise TypeError(f"{v!r} of type {type(v).__name__} is not JSON "
                      "serialisable")
    return str(v)
  return conv(x)


def atomic_write_json(path: PathLike, obj: Any) -> None:
  """Writes ``obj`` as indented JSON atomically (numpy values allowed)."""
  try:
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=True)
  except (TypeError, ValueError) as e:
    raise DataError(f"{os.fspath(path)}: cannot encode as JSON ({e})") from e
  atomic_write_text(path, text + "\n")
