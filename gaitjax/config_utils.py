"""Config checks and (de)serialisation shared by training and inference.

``validate_config`` refuses, before any data is read or anything compiles,
the config values a run cannot work with, with one line naming the field
(``config.model.width``) and what was expected. Model-internal checks that
need the built module (e.g. pos_embedding) stay with the model.
"""
import json
import math
import pathlib
import sys
from typing import Any, Iterable, List, Mapping, Optional, Sequence

import ml_collections

from gaitjax import files
from gaitjax.errors import ConfigError

MODEL_NAMES = ("diffusion", "mlp", "tcn")
REFERENCES = ("source", "warped", "template", "regression")
PREDICTIONS = ("eps", "v", "x0")
SCHEDULES = ("linear", "cosine")
REFERENCE_TIMINGS = ("target", "inference")
SPACINGS = ("trailing", "leading")
FILM_PLACEMENTS = ("input", "output")
POS_EMBEDDINGS = ("learned", "sinusoidal", "rotary")
X0_WEIGHTINGS = ("none", "alpha2")
LR_SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "bfloat16")

_MISSING = object()


def _get(config, dotted: str):
  """config.a.b.c or _MISSING."""
  node = config
  for part in dotted.split("."):
    if node is None or not hasattr(node, "get"):
      return _MISSING
    node = node.get(part, _MISSING)
    if node is _MISSING:
      return _MISSING
  return node


def _require(config, dotted: str):
  value = _get(config, dotted)
  if value is _MISSING:
    raise ConfigError(f"config.{dotted} is missing (start from "
                      f"configs/default.py)")
  return value


def _is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(config, dotted: str, *, allow_zero: bool = False) -> int:
  value = _require(config, dotted)
  low = 0 if allow_zero else 1
  if not _is_int(value) or value < low:
    what = "a non-negative" if allow_zero else "a positive"
    raise ConfigError(f"config.{dotted} must be {what} integer, got "
                      f"{value!r}")
  return value


def _number(config, dotted: str, *, low: Optional[float] = None,
            high: Optional[float] = None, low_open: bool = False,
            high_open: bool = False) -> float:
  value = _require(config, dotted)
  if not isinstance(value, (int, float)) or isinstance(value, bool) \
      or value != value:  # NaN
    raise ConfigError(f"config.{dotted} must be a number, got {value!r}")
  bad_low = low is not None and (value <= low if low_open else value < low)
  bad_high = high is not None and (value >= high if high_open
                                   else value > high)
  if bad_low or bad_high:
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    raise ConfigError(f"config.{dotted} must be in {lo}"
                      f"{'-inf' if low is None else low}, "
                      f"{'inf' if high is None else high}{hi}, got {value!r}")
  return float(value)


def _choice(config, dotted: str, choices: Iterable[str]) -> str:
  value = _require(config, dotted)
  choices = tuple(choices)
  if value not in choices:
    raise ConfigError(f"config.{dotted} must be one of "
                      f"{', '.join(choices)}; got {value!r}")
  return value


def _optional_choice(config, dotted: str, choices: Iterable[str]) -> None:
  """_choice for a field configs saved before it existed may lack."""
  if _get(config, dotted) is not _MISSING:
    _choice(config, dotted, choices)


def _divisible(config, a: str, b: str) -> None:
  va, vb = _require(config, a), _require(config, b)
  if va % vb:
    raise ConfigError(f"config.{a}={va} must be divisible by config.{b}={vb}")


def validate_config(config: ml_collections.ConfigDict, *,
                    num_devices: Optional[int] = None,
                    extra_model_names: Iterable[str] = ()) -> None:
  """Raises ConfigError (one line) for a config training cannot run.

  Args:
    config: the full experiment config (configs/default.py layout).
    num_devices: devices the global batch is split over; None = the local
      device count times the process count (imports jax).
    extra_model_names: model names registered beside MODEL_NAMES (tests).
  """
  # data
  dataset = _require(config, "data.dataset")
  if not isinstance(dataset, str) or not dataset:
    raise ConfigError(f"config.data.dataset must be a dataset name, got "
                      f"{dataset!r}")
  seq_len = _positive_int(config, "data.seq_len")
  _number(config, "data.rate_hz", low=0.0, low_open=True)
  _choice(config, "data.reference", REFERENCES)
  _optional_choice(config, "data.reference_timing", REFERENCE_TIMINGS)
  _positive_int(config, "data.num_train_pairs", allow_zero=True)
  _number(config, "data.swap_sides_prob", low=0.0, high=1.0)
  fractions = _require(config, "data.pair_fractions")
  try:
    fractions = [float(f) for f in fractions]
  except (TypeError, ValueError):
    fractions = []
  if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
    raise ConfigError(f"config.data.pair_fractions must be 3 non-negative "
                      f"weights (identity, near, cross) with a positive sum,"
                      f" got {_get(config, 'data.pair_fractions')!r}")

  # model
  name = _choice(config, "model.name",
                 tuple(MODEL_NAMES) + tuple(extra_model_names))
  if name == "diffusion":
    for field in ("width", "num_layers", "num_heads", "mlp_dim", "patch_size",
                  "cond_dim", "time_embed_dim", "subject_embed_dim",
                  "lstm_hidden", "lstm_patch_size", "speed_hidden"):
      _positive_int(config, f"model.{field}")
    _divisible(config, "model.width", "model.num_heads")
    if seq_len % _require(config, "model.patch_size"):
      raise ConfigError(f"config.data.seq_len={seq_len} must be divisible by "
                        f"config.model.patch_size="
                        f"{_require(config, 'model.patch_size')}")
    if seq_len % _require(config, "model.lstm_patch_size"):
      raise ConfigError(f"config.data.seq_len={seq_len} must be divisible by "
                        f"config.model.lstm_patch_size="
                        f"{_require(config, 'model.lstm_patch_size')}")
    _number(config, "model.dropout", low=0.0, high=1.0, high_open=True)
    _choice(config, "model.dtype", DTYPES)
    _optional_choice(config, "model.film_placement", FILM_PLACEMENTS)
    _optional_choice(config, "model.pos_embedding", POS_EMBEDDINGS)
    _optional_choice(config, "loss.x0_weighting", X0_WEIGHTINGS)
    _optional_choice(config, "sampling.timestep_spacing", SPACINGS)

    # diffusion + sampling
    num_timesteps = _positive_int(config, "diffusion.num_timesteps")
    if num_timesteps < 2:
      raise ConfigError(f"config.diffusion.num_timesteps must be >= 2, got "
                        f"{num_timesteps}")
    _choice(config, "diffusion.schedule", SCHEDULES)
    _choice(config, "diffusion.prediction", PREDICTIONS)
    sampling_steps = _positive_int(config, "sampling.num_steps")
    if sampling_steps > num_timesteps:
      raise ConfigError(f"config.sampling.num_steps={sampling_steps} must be"
                        f" <= config.diffusion.num_timesteps={num_timesteps}")
    _number(config, "sampling.eta", low=0.0)
    if "temperature" in config.sampling:
      _number(config, "sampling.temperature", low=0.0)

  # optimiser
  _number(config, "optim.learning_rate", low=0.0, low_open=True)
  _number(config, "optim.weight_decay", low=0.0)
  _number(config, "optim.grad_clip_norm", low=0.0, low_open=True)
  _positive_int(config, "optim.warmup_steps", allow_zero=True)
  _choice(config, "optim.schedule", LR_SCHEDULES)

  # train
  batch_size = _positive_int(config, "train.batch_size")
  _positive_int(config, "train.num_steps")
  _number(config, "train.max_minutes", low=0.0)
  if _get(config, "train.ema_decay") is not _MISSING:
    _number(config, "train.ema_decay", low=0.0, high=1.0, high_open=True)
  for field in ("log_every", "eval_every", "checkpoint_every",
                "num_val_batches", "num_hosts"):
    _positive_int(config, f"train.{field}")
  if num_devices is None:
    import jax  # pylint: disable=g-import-not-at-top
    num_devices = jax.local_device_count() * jax.process_count()
  if batch_size % num_devices:
    raise ConfigError(f"config.train.batch_size={batch_size} must be "
                      f"divisible by the number of devices ({num_devices})")


# ------------------------------------------------------- (de)serialisation


def _tuples(value: Any) -> Any:
  """JSON lists back to tuples (our configs never hold lists)."""
  if isinstance(value, Mapping):
    return {k: _tuples(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return tuple(_tuples(v) for v in value)
  return value


def config_to_dict(config: ml_collections.ConfigDict) -> dict:
  """A JSON-serialisable plain dict of the config (tuples become lists)."""
  return json.loads(json.dumps(files.to_jsonable(config.to_dict())))


def config_to_json(config: ml_collections.ConfigDict) -> str:
  return json.dumps(config_to_dict(config), indent=2, sort_keys=True)


def config_from_dict(d: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """ConfigDict from config_to_dict's output (lists back to tuples)."""
  return ml_collections.ConfigDict(_tuples(dict(d)))


REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def ensure_repo_on_path() -> None:
  """Config files do `from configs import default`: make that importable."""
  if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def parse_speeds(values: Sequence[str], flag: str) -> List[float]:
  """A list flag of speeds ('0.6,1.0') -> floats; ConfigError naming --flag."""
  speeds = []
  for v in values:
    try:
      speed = float(v)
    except ValueError:
      raise ConfigError(f"--{flag}: expected numbers in m/s, got {v!r}"
                        ) from None
    if not math.isfinite(speed) or speed <= 0:
      raise ConfigError(f"--{flag}: speeds must be positive, got {v}")
    speeds.append(speed)
  return speeds
