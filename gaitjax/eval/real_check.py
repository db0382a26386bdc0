"""Checks of a trained model on real gait and on angle conventions (issue 11).

* ``wbds01_change``: WBDS01 (Fukuchi 2018; ../shared/data/fukuchi2018) T01
  (0.488 m/s, continuous 150 Hz 2D marker angles) is the source; the
  prediction at T05 (~1.22 m/s) is compared with the dataset's own cycle
  averages as a change of mean cycle (generated minus source, both through
  our cycle detection, against the T05 average minus the T01 average), so
  the constant offsets between the 2D angles and the averages cancel.
  Copy-source predicts no change; the cycle template predicts the training
  population's change.
* ``offset_shift``: adds a constant offset to each source channel and
  measures how the generated mean of K samples moves. A convention-proof
  model (model.center_inputs with a source-anchored reference) moves the
  offset channel by exactly its offset and nothing else.

Both take a ``gaitjax.generate.Generator``; ``launch/real_check.py`` runs
them and writes the numbers.
"""
import pathlib
from typing import Any, Dict, Sequence, Union

import numpy as np

from gaitjax import constants
from gaitjax.data import preprocess
from gaitjax.data import reference
from gaitjax.data.trial import Trial
from gaitjax.errors import DataError

T01_MPS = 0.488
T05_MPS = 1.22
FUKUCHI = "fukuchi2018"
# Columns of the dataset's cycle averages in the project's channel order.
AVG_COLUMNS = ("RHipAngleZ", "RKneeAngleZ", "RAnkleAngleZ", "LHipAngleZ",
               "LKneeAngleZ", "LAnkleAngleZ")
PathLike = Union[str, pathlib.Path]


def cycle_average(path: PathLike) -> np.ndarray:
  """[6, 101] the dataset's published cycle average (degrees)."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise DataError(f"{path}: file not found")
  a = np.genfromtxt(path, delimiter=",", names=True)
  missing = [c for c in AVG_COLUMNS if c not in (a.dtype.names or ())]
  if missing:
    raise DataError(f"{path}: columns {missing} missing")
  return np.stack([a[c] for c in AVG_COLUMNS])


def wbds01_source(shared_data: PathLike) -> np.ndarray:
  """[600, 6] model input of WBDS01 T01 (20 Hz, degrees)."""
  path = pathlib.Path(shared_data) / FUKUCHI / \
      "WBDS01walkT01_sagittal2D_150Hz.csv"
  if not path.is_file():
    raise DataError(f"{path}: file not found")
  d = np.loadtxt(path, delimiter=",", skiprows=1)
  return preprocess.to_model_input(Trial(
      "WBDS01", T01_MPS, d[:, 1:], preprocess.sampling_rate(d[:, 0]),
      origin="WBDS01walkT01"))


def _change_error(pred_change: np.ndarray, real_change: np.ndarray
                  ) -> Dict[str, Any]:
  err = np.abs(pred_change - real_change)
  return {"mae": float(np.mean(err)),
          "per_channel": np.round(err.mean(axis=1), 3).tolist()}


def wbds01_change(gen, shared_data: PathLike,
                  num_samples: Sequence[int] = (1, 8), seed: int = 0
                  ) -> Dict[str, Any]:
  """Change-of-mean-cycle MAE (deg) from T01 to T05 for the model with K
  samples (each K in ``num_samples``), the cycle template and copy-source.
  """
  root = pathlib.Path(shared_data) / FUKUCHI
  x = wbds01_source(shared_data)
  real = (cycle_average(root / "WBDS01walkT05ang_sagittal.csv")
          - cycle_average(root / "WBDS01walkT01ang_sagittal.csv"))
  source = reference.cycle_info(x).mean
  out: Dict[str, Any] = {"channels": list(constants.CHANNELS)}
  for k in num_samples:
    res = gen.generate(x, v_src=T01_MPS, v_tgt=T05_MPS, num_samples=int(k),
                       seed=seed)
    pred = reference.cycle_info(np.asarray(res.mean[0, 0])).mean - source
    out[f"model_k{int(k)}"] = _change_error(pred, real)
  template = getattr(gen, "template", None)
  if template is not None:
    tmpl = reference.template_baseline(x, T01_MPS, T05_MPS,
                                       getattr(template, "template",
                                               template))
    out["cycle_template"] = _change_error(
        reference.cycle_info(tmpl).mean - source, real)
  out["copy_source"] = _change_error(np.zeros_like(real), real)
  return out


def offset_shift(gen, x_src: np.ndarray, v_src: float,
                 v_tgt: Sequence[float], offset_deg: float = 15.0,
                 num_samples: int = 8, seed: int = 0) -> Dict[str, Any]:
  """How the generated mean of K samples moves when one source channel is
  offset by +-``offset_deg`` (one channel at a time, both signs).

  Returns:
    {'shift_error': [6] max over signs/targets of the MAE (deg) between the
     offset channel's move and the offset, 'other_change': [6] max MAE move
     of the other channels, 'max_shift_error', 'max_other_change'}.
  """
  x = np.asarray(x_src, np.float32)
  base = gen.generate(x, v_src=v_src, v_tgt=list(v_tgt),
                      num_samples=num_samples, seed=seed).mean[0]  # [S,T,6]
  shift_err = np.zeros(constants.NUM_CHANNELS)
  other = np.zeros(constants.NUM_CHANNELS)
  for c in range(constants.NUM_CHANNELS):
    for sign in (1.0, -1.0):
      off = np.zeros(constants.NUM_CHANNELS, np.float32)
      off[c] = sign * offset_deg
      moved = gen.generate(x + off, v_src=v_src, v_tgt=list(v_tgt),
                           num_samples=num_samples, seed=seed).mean[0]
      delta = np.asarray(moved - base, np.float64)            # [S, T, 6]
      shift_err[c] = max(shift_err[c],
                         float(np.abs(delta[..., c] - off[c]).mean()))
      rest = np.delete(delta, c, axis=-1)
      other[c] = max(other[c], float(np.abs(rest).mean(axis=(0, 1)).max()))
  return {"offset_deg": float(offset_deg), "num_samples": int(num_samples),
          "shift_error": np.round(shift_err, 4).tolist(),
          "other_change": np.round(other, 4).tolist(),
          "max_shift_error": float(shift_err.max()),
          "max_other_change": float(other.max())}
