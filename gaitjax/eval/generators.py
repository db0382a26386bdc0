"""Models under evaluation: loading, probing their settings, generating.

Anything with ``Generator.generate``'s contract (``generate.GaitGenerator``:
a checkpoint's Generator, the simple and extra baseline rows, test fakes) can
be evaluated. What a row may carry besides ``generate`` is optional and read
here only: ``config`` (model name, seq_len, source speeds), ``stats``
(normalisation statistics), ``template`` (population model),
``is_baseline`` / ``deterministic`` flags.
"""
import collections
import logging
import os
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from gaitjax import constants
from gaitjax.data import reference
from gaitjax.errors import CheckpointError, ConfigError, DataError
from gaitjax.eval import calibration
from gaitjax.eval import simple_baselines
from gaitjax.eval.selection import CohortData
from gaitjax import generate
from gaitjax.generate import GaitGenerator
from gaitjax.progress import Progress

# Rows (source x target x sample) per generate call: large enough to fill a
# device batch several times, small enough for a progress line now and then.
ROWS_PER_CALL = 256


def load_generators(models: Mapping[str, Any], *,
                    num_steps: Optional[int] = None,
                    which: Any = "best",
                    temperature: Optional[float] = None) -> Dict[str, Any]:
  """name -> Generator for each checkpoint path (objects pass through).

  A value that is not a path (anything with ``.generate``) is used as it is,
  which is how tests plug in fake generators.
  """
  out = {}
  for name, value in models.items():
    simple_baselines.check_model_name(name)
    if isinstance(value, (str, os.PathLike)):
      logging.info("loading checkpoint %s = %s", name, value)
      # Stroke speeds (0.3 m/s) lie below the able-bodied training range;
      # the paper evaluates them with the able-bodied model anyway.
      out[name] = generate.Generator(os.fspath(value), which,
                                     num_steps=num_steps,
                                     temperature=temperature,
                                     allow_extrapolation=True)
    elif hasattr(value, "generate"):
      out[name] = value
    else:
      raise ConfigError(f"model {name!r}: expected a checkpoint path or a "
                        f"generator, got {type(value).__name__}")
  return out


def config_get(gen, *path, default=None):
  """gen.config.a.b..., or default when absent (fake or simple models)."""
  node = getattr(gen, "config", None)
  for key in path:
    if node is None:
      return default
    try:
      node = node[key] if isinstance(node, Mapping) else getattr(node, key)
    except (KeyError, AttributeError):
      return default
  return default if node is None else node


def model_kind(gen) -> str:
  """'diffusion' | 'mlp' | 'tcn' | ... from the config; 'simple' without."""
  if isinstance(gen, simple_baselines.SimpleBaseline) or getattr(gen, "is_baseline", False):
    return "simple"
  return str(config_get(gen, "model", "name", default="diffusion"))


def fixed_source_speeds(gen) -> Tuple[float, ...]:
  """The source speeds a checkpoint was trained from (() = any)."""
  speeds = config_get(gen, "data", "source_speeds", default=()) or ()
  return tuple(float(v) for v in speeds)


def choose_template(generators: Mapping[str, Any]
                    ) -> Tuple[Optional[reference.TemplateModel], str]:
  """The first diffusion checkpoint's template, else any checkpoint's."""
  ranked = sorted(generators.items(),
                  key=lambda kv: model_kind(kv[1]) != "diffusion")
  for name, gen in ranked:
    template = getattr(gen, "template", None)
    if template is not None:
      # A data.reference='regression' checkpoint carries a CycleRegression;
      # the cycle_template row is its population template.
      return getattr(template, "template", template), f"checkpoint {name!r}"
  return None, ""


def check_compatible(name: str, gen, data: CohortData) -> str:
  """Refuses a checkpoint that cannot run on this cohort's data.

  For stroke, also installs the stroke normalisation statistics in
  ``gen.stats``: the stroke build's (a property of the data, paper II.C),
  else the checkpoint's own.

  Returns:
    A note for the report ('' when there is nothing to say).
  """
  x = data.eval_set.x
  where = f"model {name!r}"
  seq_len = config_get(gen, "data", "seq_len")
  if seq_len is not None and int(seq_len) != x.shape[1]:
    raise CheckpointError(
        f"{where} was trained on sequences of {int(seq_len)} samples but "
        f"{data.dataset or data.name} {data.split} has {x.shape[1]}")
  channels = config_get(gen, "data", "num_channels")
  stats = getattr(gen, "stats", None) or {}
  if channels is None and "able_bodied" in stats:
    channels = np.asarray(stats["able_bodied"].mean).shape[-1]
  if channels is not None and int(channels) != x.shape[2]:
    raise CheckpointError(
        f"{where} was trained on {int(channels)} channels but "
        f"{data.dataset or data.name} {data.split} has {x.shape[2]} "
        f"({', '.join(constants.CHANNELS)})")
  if isinstance(gen, simple_baselines.SimpleBaseline) or not hasattr(gen, "stats"):
    return ""
  if "able_bodied" not in stats:
    raise CheckpointError(f"{where}: the checkpoint has no able-bodied "
                          f"normalisation statistics; re-export it")
  if data.name != "stroke":
    return ""
  if data.stats is not None:
    # The paper normalises stroke subjects with statistics of 12 random
    # stroke subjects (II.C); the stroke build holds them.
    own = stats.get("stroke")
    stats["stroke"] = data.stats
    if own is not None and not (
        np.allclose(own.mean, data.stats.mean, atol=1e-3)
        and np.allclose(own.std, data.stats.std, atol=1e-3)):
      return (f"{name}: stroke normalised with the statistics of the "
              f"{data.dataset} build, not the different ones stored in "
              f"the checkpoint")
    return ""
  if "stroke" not in stats:
    raise DataError(
        f"{where}: no stroke normalisation statistics in the checkpoint or "
        f"in the build of {data.dataset!r}; rebuild it with "
        f"launch/build_data.py")
  return (f"{name}: stroke normalised with the checkpoint's stroke "
          f"statistics (the {data.dataset or 'stroke'} data has none)")


# -------------------------------------------------------------- generation
def generate_pairs(gen: GaitGenerator, x_sources: np.ndarray, v_sources: np.ndarray,
                   pair_source: np.ndarray, v_tgt: np.ndarray, *,
                   cohort: str, num_samples: int = 1, seed: int = 0,
                   label: str = "", rows_per_call: int = ROWS_PER_CALL,
                   rate_hz: float = constants.RATE_HZ,
                   calibrate: bool = True) -> Dict[str, np.ndarray]:
  """Generates every pair, all targets of one source in one call.

  Args:
    gen: anything with Generator.generate's contract.
    x_sources: [M, T, 6] source trials (degrees).
    v_sources: [M] speeds the model is told for each source (m/s).
    pair_source: [P] index into x_sources of each pair's source.
    v_tgt: [P] target speeds.
    cohort: selects normalisation statistics.
    num_samples: K samples per pair; metrics use their mean.
    seed: base seed; each call's seed derives from (seed, first pair).
    label: names the progress lines.
    rate_hz: sampling rate (for the samples' mean cycles).
    calibrate: keep every sample's mean cycle (K >= 2; for calibration).

  Returns:
    {'gen': [P, T, 6] mean sample, 'sd': [P] mean SD over the K samples,
     'extrapolated': [P] bool, and with K >= 2 from a non-deterministic
     generator 'sample_cycles': [P, K, 6, 101] every sample's mean cycle
     (``calibration.sample_mean_cycles``)}.
  """
  pair_source = np.asarray(pair_source, np.int64)
  v_tgt = np.asarray(v_tgt, np.float64)
  n_pairs = pair_source.shape[0]
  out = np.zeros((n_pairs,) + x_sources.shape[1:], np.float32)
  sd = np.zeros(n_pairs, np.float64)
  extrap = np.zeros(n_pairs, bool)
  want_cycles = (calibrate and int(num_samples) >= 2
                 and not getattr(gen, "deterministic", False))
  sample_cycles = (np.full((n_pairs, int(num_samples), 6,
                            calibration.NUM_POINTS), np.nan, np.float32)
                   if want_cycles else None)
  by_source = collections.defaultdict(list)
  for p, m in enumerate(pair_source):
    by_source[int(m)].append(p)
  # Sources with the same number of targets share calls.
  by_count = collections.defaultdict(list)
  for m, ps in by_source.items():
    by_count[len(ps)].append(m)
  calls = []
  for s, ms in sorted(by_count.items()):
    per_call = max(1, rows_per_call // (s * max(int(num_samples), 1)))
    calls += [ms[i:i + per_call] for i in range(0, len(ms), per_call)]
  progress = Progress(f"{label} generated pairs", n_pairs)
  done = 0
  for ms in calls:
    rows = np.asarray([by_source[m] for m in ms], np.int64)       # [n, S]
    call_seed = int(np.random.SeedSequence(
        [int(seed), int(rows[0, 0])]).generate_state(1)[0] & 0x7FFFFFFF)
    res = gen.generate(x_sources[ms], np.asarray(v_sources)[ms], v_tgt[rows],
                       num_samples=num_samples, seed=call_seed, cohort=cohort)
    mean = np.asarray(res.mean, np.float32)
    out[rows.reshape(-1)] = mean.reshape((-1,) + x_sources.shape[1:])
    std = getattr(res, "std", None)
    if std is not None:
      sd[rows.reshape(-1)] = np.asarray(std, np.float64).mean(
          axis=(-2, -1)).reshape(-1)
    ex = getattr(res, "extrapolated", None)
    if ex is not None:
      extrap[rows.reshape(-1)] = np.asarray(ex, bool).reshape(-1)
    samples = getattr(res, "samples", None)
    if sample_cycles is not None and samples is not None:
      sc = calibration.sample_mean_cycles(samples, rate_hz)
      sample_cycles[rows.reshape(-1)] = sc.reshape((-1,) + sc.shape[-3:])
    done += rows.size
    progress.update(done)
  result = {"gen": out, "sd": sd, "extrapolated": extrap}
  if sample_cycles is not None:
    result["sample_cycles"] = sample_cycles
  return result
