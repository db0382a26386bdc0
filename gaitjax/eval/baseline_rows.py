"""Deterministic baseline rows with the Generator.generate contract.

A baseline row is anything with ``predict_source(x_src, v_src, v_tgts)``
that returns one prediction per target speed; ``generate_rows`` turns it into
``Generator.generate``'s output (mean, std = 0, samples = K copies), so the
evaluation job treats it like a checkpoint. Rows defined here carry
``is_baseline = True`` (the evaluation job then calls them 'simple' and never
picks one as the main model) and ``deterministic = True`` (no calibration:
their K samples are identical). ``RegressionBaseline`` is the fitted cycle
regression (``gaitjax.data.regression``) as such a row;
``LosoTemplateBaseline`` the cycle template fitted on the evaluated cohort's
other subjects.
"""
from typing import Callable, Sequence

import numpy as np

from gaitjax import constants
from gaitjax.data import reference
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


class DeterministicRow:
  """A baseline row: subclasses define ``predict_source`` (the module
  docstring's contract); ``generate`` is Generator.generate's (std 0)."""
  is_baseline = True
  deterministic = True
  config = None

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float]) -> np.ndarray:
    raise NotImplementedError

  def generate(self, sources, v_src, v_tgt, *, num_samples: int = 1,
               seed: int = 0, cohort: str = "able_bodied"
               ) -> GenerationResult:
    """Same contract as Generator.generate (std 0)."""
    del seed, cohort
    return generate_rows(self.predict_source, sources, v_src, v_tgt,
                         num_samples=num_samples)


class RegressionBaseline(DeterministicRow):
  """The fitted regression with Generator.generate's contract.

  Args:
    model: a fitted regression.CycleRegression.
    rate_hz: sampling rate of the evaluated data.
    source: where it was fitted (for the report).
  """

  def __init__(self, model: regression.CycleRegression,
               rate_hz: float = constants.RATE_HZ, source: str = ""):
    self.model = model
    self.rate_hz = float(rate_hz)
    self.source = source

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float]) -> np.ndarray:
    """[T, 6] -> [S, T, 6]."""
    return self.model.predict_source(x_src, v_src, v_tgt, rate_hz=self.rate_hz)


LOSO_TEMPLATE = "cycle_template_loso"


class LosoTemplateBaseline(DeterministicRow):
  """The cycle template fitted on the evaluated cohort's OTHER subjects.

  The checkpoint's ``cycle_template`` carries the training population's
  speed change; this row answers "what would the template do if the speed
  change came from this dataset's own people" (a lab's other subjects, or
  the real population of a folder build evaluated with ``--split=all``),
  leaving the source's subject out so it never sees its own targets.

  Args:
    pool: TrialSet of every trial of the evaluated cohort (all splits); a
      source is recognised by its exact array in it.
    rate_hz: sampling rate of the data.
  """
  cohorts = ("able_bodied",)

  def __init__(self, pool, rate_hz: float = constants.RATE_HZ):
    if len(pool.subjects) < 3:
      raise DataError(f"{LOSO_TEMPLATE}: needs >= 3 subjects, the cohort "
                      f"has {len(pool.subjects)}")
    self.pool = pool
    self.rate_hz = float(rate_hz)
    self._infos = reference.precompute_cycles(pool.x, self.rate_hz)
    self._subject_of = {np.asarray(pool.x[i], np.float32).tobytes():
                        str(pool.subject[i]) for i in range(len(pool))}
    self._templates = {}

  def template_without(self, subject: str) -> reference.TemplateModel:
    """TemplateModel of every pool subject except ``subject`` (cached)."""
    if subject not in self._templates:
      keep = np.flatnonzero(self.pool.subject != subject)
      self._templates[subject] = reference.TemplateModel.fit(
          self.pool.x[keep], self.pool.speed[keep], rate_hz=self.rate_hz,
          subject=self.pool.subject[keep],
          infos=[self._infos[i] for i in keep])
    return self._templates[subject]

  def predict_source(self, x_src: np.ndarray, v_src: float,
                     v_tgt: Sequence[float]) -> np.ndarray:
    """[T, 6] -> [S, T, 6]."""
    subject = self._subject_of.get(np.asarray(x_src, np.float32).tobytes())
    if subject is None:
      raise DataError(f"{LOSO_TEMPLATE}: a source that is not a trial of "
                      f"the evaluated cohort")
    template = self.template_without(subject)
    return np.stack([reference.template_baseline(
        x_src, v_src, float(v), template, rate_hz=self.rate_hz)
                     for v in np.asarray(v_tgt).reshape(-1)])
