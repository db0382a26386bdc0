"""Deterministic baseline rows with the Generator.generate contract.

A baseline row is anything with ``predict_source(x_src, v_src, v_tgts)``
that returns one prediction per target speed; ``generate_rows`` turns it into
``Generator.generate``'s output (mean, std = 0, samples = K copies), so the
evaluation job treats it like a checkpoint. Rows defined here carry
``is_baseline = True`` (the evaluation job then calls them 'simple' and never
picks one as the main model) and ``deterministic = True`` (no calibration:
their K samples are identical). ``RegressionBaseline`` is the fitted cycle
regression (``gaitjax.data.regression``) as such a row.
"""
from typing import Callable, Sequence

import numpy as np

from gaitjax import constants
from gaitjax.data import regression
from gaitjax.errors import DataError
from gaitjax.generate import GenerationResult

# (x_src [T, 6], v_src, v_tgts [S]) -> [S, T, 6]
PredictSource = Callable[[np.ndarray, float, np.ndarray], np.ndarray]


def generate_rows(predict_source: PredictSource, sources: np.ndarray,
                  v_src: Sequence[float], v_tgt: np.ndarray, *,
                  num_samples: int = 1) -> GenerationResult:
  """Runs a deterministic predictor over every (source, target).

  Args:
    predict_source: see the module docstring.
    sources: [N, T, 6] degrees.
    v_src: [N] m/s.
    v_tgt: [N, S] (or [N]) m/s.
    num_samples: K copies in ``samples``.

  Returns:
    GenerationResult.
  """
  x = np.asarray(sources, np.float32)
  if x.ndim != 3:
    raise DataError(f"sources must be [N, T, 6], got {x.shape}")
  n = x.shape[0]
  v_src = np.asarray(v_src, np.float64).reshape(n)
  v_tgt = np.asarray(v_tgt, np.float64).reshape(n, -1)
  mean = np.stack([np.asarray(predict_source(x[i], float(v_src[i]), v_tgt[i]),
                              np.float32) for i in range(n)])
  k = max(int(num_samples), 1)
  return GenerationResult(mean=mean, std=np.zeros_like(mean),
                          samples=np.repeat(mean[:, :, None], k, axis=2),
                          v_src=v_src.astype(np.float32),
                          v_tgt=v_tgt.astype(np.float32),
                          extrapolated=np.zeros(v_tgt.shape, bool))


class RegressionBaseline:
  """The fitted regression with Generator.generate's contract.

  Args:
    model: a fitted regression.CycleRegression.
    rate_hz: sampling rate of the evaluated data.
    source: where it was fitted (for the report).
  """
  is_baseline = True
  deterministic = True
  config = None

  def __init__(self, model: regression.CycleRegression,
               rate_hz: float = constants.RATE_HZ, source: str = ""):
    self.model = model
    self.rate_hz = float(rate_hz)
    self.source = source

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float]) -> np.ndarray:
    """[T, 6] -> [S, T, 6]."""
    return self.model.predict_source(x_src, v_src, v_tgt, rate_hz=self.rate_hz)

  def generate(self, sources, v_src, v_tgt, *, num_samples: int = 1,
               seed: int = 0, cohort: str = "able_bodied"
               ) -> GenerationResult:
    """Same contract as Generator.generate (std 0)."""
    del seed, cohort
    return generate_rows(self.predict_source, sources, v_src, v_tgt,
                         num_samples=num_samples)
