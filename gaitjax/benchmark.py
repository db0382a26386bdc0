"""Speed measurements behind launch/benchmark.py: one JSON record each.

Model FLOP utilisation (MFU) = the compiled computation's FLOPs (XLA's own
cost analysis of the jitted function, so forward + backward for a train
step) / measured seconds / the dense-matmul FLOP/s measured in the same run.
Times are medians of several runs after a warm-up (compile excluded).
"""
import json
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import jax
import jax.numpy as jnp
import numpy as np


def emit(record: Dict) -> Dict:
  sys.stdout.write(json.dumps(record) + "\n")
  sys.stdout.flush()
  return record


def time_call(fn: Callable[[], object], *, repeats: int = 5,
              warmup: int = 1, min_seconds: float = 0.0) -> float:
  """Median wall time of fn() (which must block until done)."""
  for _ in range(warmup):
    fn()
  times: List[float] = []
  t_start = time.perf_counter()
  while len(times) < repeats or (time.perf_counter() - t_start) < min_seconds:
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
    if len(times) >= 50:
      break
  return statistics.median(times)


def compiled_flops(jitted, *args) -> Optional[float]:
  """FLOPs of one call of a jitted function, from XLA's cost analysis."""
  try:
    analysis = jitted.lower(*args).compile().cost_analysis()
  except Exception:  # cost analysis is best-effort on some backends
    return None
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0] if analysis else {}
  flops = (analysis or {}).get("flops")
  return float(flops) if flops else None


def matmul_peak(n: int = 2048, repeats: int = 7) -> Dict:
  """Dense f32 matmul FLOP/s on the default device: the MFU reference."""
  a = jnp.asarray(np.random.RandomState(0).randn(n, n), jnp.float32)
  b = jnp.asarray(np.random.RandomState(1).randn(n, n), jnp.float32)
  f = jax.jit(lambda x, y: x @ y)
  seconds = time_call(lambda: f(a, b).block_until_ready(), repeats=repeats,
                      warmup=2)
  flops = 2.0 * n ** 3
  return emit({"name": "dense_matmul", "n": n, "seconds": seconds,
               "flops_per_s": flops / seconds,
               "device": str(jax.devices()[0].device_kind),
               "num_devices": jax.local_device_count()})
