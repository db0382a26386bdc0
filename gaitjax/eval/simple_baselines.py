"""The simple baselines: rows that need no training beyond the template.

* ``copy_source``: the source itself (x_gen = x_src).
* ``population_mean``: the training population's mean cycle at the target
  speed, tiled at the population cadence at the target speed.
* ``cycle_template``: ``reference.template_baseline``: the subject's mean
  source cycle plus the population change of the mean cycle, tiled at the
  subject's cadence times the population's cadence ratio.

Each has ``Generator.generate``'s contract (``generate.GaitGenerator``).
"""
from typing import Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import reference
from gaitjax.errors import ConfigError
from gaitjax.generate import GenerationResult

SIMPLE_BASELINES: Tuple[str, ...] = ("copy_source", "population_mean",
                                     "cycle_template")
# Reserved row names: the simple baselines plus the rows of
# gaitjax.eval.extra_rows (cycle_regression, bound, bound_recording,
# noise_floor).
RESERVED_NAMES: Tuple[str, ...] = SIMPLE_BASELINES + (
    "cycle_regression", "cycle_template_loso", "bound", "bound_recording",
    "noise_floor")


def check_model_name(name: str) -> None:
  """ConfigError for an empty name or one a baseline row uses."""
  if not name or not isinstance(name, str):
    raise ConfigError(f"model names must be non-empty strings, got {name!r}")
  if name in RESERVED_NAMES:
    raise ConfigError(f"model name {name!r} is reserved for a baseline "
                      f"row; pick another name")


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
               seed: int = 0, cohort: str = "able_bodied"
               ) -> GenerationResult:
    """Same contract as Generator.generate (mean [N, S, T, 6], std 0)."""
    del seed, cohort
    x = np.asarray(sources, np.float32)
    v_src = np.asarray(v_src, np.float64).reshape(x.shape[0])
    v_tgt = np.asarray(v_tgt, np.float64).reshape(x.shape[0], -1)
    mean = np.stack([np.stack([self.predict(x[i], v_src[i], v)
                               for v in v_tgt[i]]) for i in range(len(x))])
    k = int(num_samples)
    return GenerationResult(mean=mean, std=np.zeros_like(mean),
                            samples=np.repeat(mean[:, :, None], k, axis=2),
                            v_src=v_src.astype(np.float32),
                            v_tgt=v_tgt.astype(np.float32),
                            extrapolated=np.zeros(v_tgt.shape, bool))
