"""How gaitjax.benchmark measures: records, timing, FLOPs, the matmul reference,
the benchmark sizes and their random inputs.

Every record has 'name' and, where something was timed, 'seconds' (median
of ``repeats`` runs after a warm-up; compile time excluded and reported
separately as 'compile_seconds'). Model FLOP utilisation is

  mfu = model FLOPs / seconds / dense-matmul FLOP/s of the same run,

with model FLOPs from XLA's own cost analysis of the compiled computation
(forward + backward + optimiser for a train step). XLA counts the body of a
``lax.scan``/while loop once, so for DDIM sampling the FLOPs are
  flops(one denoise call) * num_steps + flops(encoder),
each from the cost analysis of that call alone (records say so in
'flops_method'). The same applies to the chunked attention and MLP loops in
models/attention.py and models/denoiser.py, so a denoise call's FLOPs come
from the same model with
chunking off (identical math). Inputs are random arrays of the right shapes:
no dataset is needed.
"""
import contextlib
import json
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gaitjax import constants


Record = Dict[str, Any]
PrintFn = Callable[[str], None]

SIZES = ("paper", "cpu_small", "tiny")


def print_stdout(line: str) -> None:
  sys.stdout.write(line + "\n")
  sys.stdout.flush()


def emit(record: Record, print_fn: PrintFn = print_stdout) -> Record:
  """Prints the record as one JSON line and returns it."""
  print_fn(json.dumps(record, sort_keys=False, default=json_default))
  return record


def json_default(x):
  if isinstance(x, (np.floating, np.integer)):
    return x.item()
  return str(x)


def time_stats(fn: Callable[[], Any], *, repeats: int = 5,
               warmup: int = 1) -> Dict[str, float]:
  """{'seconds': median, 'min_seconds', 'repeats'} of fn() (which must
  block until its result is ready) after ``warmup`` untimed calls."""
  for _ in range(warmup):
    fn()
  times: List[float] = []
  for _ in range(max(1, repeats)):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return {"seconds": statistics.median(times), "min_seconds": min(times),
          "repeats": len(times)}


def time_call(fn: Callable[[], Any], *, repeats: int = 5,
              warmup: int = 1) -> float:
  """Median wall time of fn() in seconds (see time_stats)."""
  return time_stats(fn, repeats=repeats, warmup=warmup)["seconds"]


def _cost(compiled) -> Dict[str, float]:
  analysis = compiled.cost_analysis()
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0] if analysis else {}
  return analysis or {}


def compiled_flops(jitted, *args, **kwargs) -> Optional[float]:
  """FLOPs of one call of a jitted (or pmapped) function, from XLA's cost
  analysis of the compiled program; None where the backend gives none.

  A loop body (lax.scan, lax.map, while) is counted once, not per trip.
  """
  try:
    flops = _cost(jitted.lower(*args, **kwargs).compile()).get("flops")
  except Exception:  # pylint: disable=broad-except  (best-effort metric)
    return None
  return float(flops) if flops else None


def flop_utilisation(flops: Optional[float], seconds: float,
         peak: Optional[float]) -> Optional[float]:
  if not flops or not peak or seconds <= 0:
    return None
  return flops / seconds / peak


def matmul_peak(n: int = 2048, repeats: int = 7,
                print_fn: PrintFn = print_stdout,
                dtype: str = "float32") -> Record:
  """Dense [n,n] @ [n,n] FLOP/s on the default device: the MFU reference.

  dtype: the operands' dtype; 'bfloat16' on GPU/TPU, where the model
  computes in bf16 and f32 matmuls run at another (TF32 or f32) rate.
  """
  a = jnp.asarray(np.random.RandomState(0).randn(n, n), dtype)
  b = jnp.asarray(np.random.RandomState(1).randn(n, n), dtype)
  f = jax.jit(lambda x, y: x @ y)
  stats = time_stats(lambda: f(a, b).block_until_ready(), repeats=repeats,
                     warmup=2)
  flops = 2.0 * n ** 3
  return emit({"name": "dense_matmul", "n": n, "dtype": dtype, **stats,
               "flops": flops,
               "flops_per_s": flops / stats["seconds"],
               "xla_flops": compiled_flops(f, a, b),
               "device": str(jax.devices()[0].device_kind),
               "num_devices": jax.local_device_count()}, print_fn)


# ------------------------------------------------------------------ sizes


def size_config(size: str) -> ml_collections.ConfigDict:
  """The config measured as `size`: 'paper' (configs/default.py in float32,
  the CPU's fast dtype), 'cpu_small' or 'tiny' (tests)."""
  # pylint: disable=g-import-not-at-top
  from gaitjax import config_utils
  config_utils.ensure_repo_on_path()
  from configs import cpu_small, default, tiny
  if size == "paper":
    config = default.get_config()
    config.model.dtype = "float32"
  elif size == "cpu_small":
    config = cpu_small.get_config()
  elif size == "tiny":
    config = tiny.get_config()
  else:
    from gaitjax.errors import ConfigError
    raise ConfigError(f"--sizes: unknown size {size!r}; expected one of "
                      f"{', '.join(SIZES)}")
  return config


def random_batch(config: ml_collections.ConfigDict, batch_size: int,
                 num_devices: int = 1, seed: int = 0) -> Dict[str, np.ndarray]:
  """A training batch of random inputs, [num_devices, B/D, ...]."""
  rs = np.random.RandomState(seed)
  t, f = int(config.data.seq_len), constants.NUM_CHANNELS
  b = batch_size // num_devices
  x = lambda: rs.randn(num_devices, b, t, f).astype(np.float32)
  v = lambda: rs.uniform(0.5, 1.85, (num_devices, b)).astype(np.float32)
  return {"x_src": x(), "x_tgt": x(), "x_ref": x(), "v_src": v(),
          "v_tgt": v(),
          "subject": rs.randint(0, 13, (num_devices, b)).astype(np.int32)}


def model_fields(config) -> Dict[str, Any]:
  m = config.model
  return {"width": int(m.width), "num_layers": int(m.num_layers),
          "num_heads": int(m.num_heads), "mlp_dim": int(m.mlp_dim),
          "patch_size": int(m.patch_size),
          "lstm_patch_size": int(m.lstm_patch_size), "dtype": str(m.dtype),
          "tokens": int(config.data.seq_len) // int(m.patch_size)}


@contextlib.contextmanager
def no_chunking():
  """Turns the models' CPU chunking (attention.py, denoiser.MLPBlock) off
  (for FLOP counting: XLA counts a loop body once). The math is the same
  with and without."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.models import attention, denoiser
  saved = attention.CPU_CHUNK_ELEMENTS, denoiser.CPU_MLP_CHUNK_ELEMENTS
  attention.CPU_CHUNK_ELEMENTS = denoiser.CPU_MLP_CHUNK_ELEMENTS = 1 << 62
  try:
    yield
  finally:
    attention.CPU_CHUNK_ELEMENTS, denoiser.CPU_MLP_CHUNK_ELEMENTS = saved


def linear_fit(x: Sequence[float], y: Sequence[float]) -> Dict[str, float]:
  """Least-squares y = intercept + slope * x."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.size < 2 or np.ptp(x) == 0:
    return {"slope": float("nan"), "intercept": float("nan")}
  slope, intercept = np.polyfit(x, y, 1)
  return {"slope": float(slope), "intercept": float(intercept)}


def load_average() -> Optional[List[float]]:
  try:
    import os  # pylint: disable=g-import-not-at-top
    return [round(x, 2) for x in os.getloadavg()]
  except (OSError, AttributeError):
    return None
