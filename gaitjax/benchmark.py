"""Speed measurements behind launch/benchmark.py: one JSON record each.

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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gaitjax import constants

Record = Dict[str, Any]
PrintFn = Callable[[str], None]

SIZES = ("paper", "cpu_small", "tiny")


def _stdout(line: str) -> None:
  sys.stdout.write(line + "\n")
  sys.stdout.flush()


def emit(record: Record, print_fn: PrintFn = _stdout) -> Record:
  """Prints the record as one JSON line and returns it."""
  print_fn(json.dumps(record, sort_keys=False, default=_json_default))
  return record


def _json_default(x):
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


def _mfu(flops: Optional[float], seconds: float,
         peak: Optional[float]) -> Optional[float]:
  if not flops or not peak or seconds <= 0:
    return None
  return flops / seconds / peak


def matmul_peak(n: int = 2048, repeats: int = 7,
                print_fn: PrintFn = _stdout,
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


def _model_fields(config) -> Dict[str, Any]:
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


# -------------------------------------------------------------- pipeline


def bench_pipeline(*, batch_size: int = 32, num_batches: int = 20,
                   num_subjects: int = 13,
                   references: Sequence[str] = ("source", "template"),
                   print_fn: PrintFn = _stdout) -> List[Record]:
  """Pairs/s of the training data pipeline (bench.pipeline.benchmark_pipeline)
  on a synthetic able-bodied cohort of ``num_subjects`` subjects."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.bench import pipeline as bench_pipeline_lib
  from gaitjax.data import dataset, pipeline, synthetic
  t0 = time.perf_counter()
  trials = dataset.TrialSet.from_trials(
      synthetic.make_able_bodied_cohort(seed=0, num_subjects=num_subjects))
  build_s = time.perf_counter() - t0
  template = None
  fit_s = 0.0
  if any(r != "source" for r in references):
    t0 = time.perf_counter()
    template = pipeline.fit_template(trials)
    fit_s = time.perf_counter() - t0
  rates = bench_pipeline_lib.benchmark_pipeline(
      trials, template, batch_size=batch_size, num_batches=num_batches,
      references=tuple(references), print_fn=lambda _: None)
  return [emit({"name": "pipeline", "reference": kind,
                "batch_size": batch_size, "num_batches": num_batches,
                "num_trials": len(trials), "pairs_per_s": rate,
                "seconds_per_batch": batch_size / rate,
                "cohort_build_seconds": build_s,
                "template_fit_seconds": fit_s}, print_fn)
          for kind, rate in rates.items()]


# ------------------------------------------------------------------ train


def bench_train(size: str, batch_size: int, *, peak: Optional[float] = None,
                repeats: int = 5, config=None,
                print_fn: PrintFn = _stdout) -> Record:
  """Seconds per step of the real pmapped train step (one device)."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.train import state as state_lib
  from gaitjax.train import step as step_lib
  from gaitjax.train import tasks
  config = config or size_config(size)
  devices = jax.local_devices()[:1]
  task = tasks.get_task(config)
  batch = random_batch(config, batch_size)
  example = {k: v[0] for k, v in batch.items()}
  # Jitted: eager initialisation dispatches hundreds of small programs.
  state = jax.jit(lambda rng: state_lib.create_train_state(
      rng, config, task, example))(jax.random.key(0))
  base_rng = jax.random.key(1)
  train_step = step_lib.make_train_step(task, base_rng, devices=devices)
  # On the device before the timed steps, as train/loop.py's prefetch
  # thread puts it there while the previous step runs: the host-to-device
  # copy is not part of a step's time in training.
  from gaitjax.train import checkpoint as ckpt_lib  # pylint: disable=g-import-not-at-top
  batch = jax.device_put(batch, jax.sharding.NamedSharding(
      ckpt_lib.replicated_sharding(devices).mesh,
      jax.sharding.PartitionSpec(step_lib.AXIS)))
  with no_chunking():
    flops = compiled_flops(
        step_lib.make_train_step(task, base_rng, devices=devices), state,
        batch)
  t0 = time.perf_counter()
  state, metrics = train_step(state, batch)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t0
  holder = {"state": state}

  def run():
    holder["state"], m = train_step(holder["state"], batch)
    jax.block_until_ready(m)

  stats = time_stats(run, repeats=repeats, warmup=1)
  loss = float(jax.device_get(metrics["loss"])[0])
  return emit({"name": "train_step", "size": size, "batch_size": batch_size,
               **_model_fields(config), **stats,
               "pairs_per_s": batch_size / stats["seconds"],
               "compile_seconds": compile_s, "flops": flops,
               "flops_method": "xla_cost_analysis(train step, unchunked)",
               "flops_per_s": flops / stats["seconds"] if flops else None,
               "mfu": _mfu(flops, stats["seconds"], peak),
               "first_loss": loss,
               "num_params": state_lib.param_count(holder["state"].params)},
              print_fn)


# --------------------------------------------------------------- sampling


def _sampler_inputs(config, batch_size: int, seed: int = 0):
  rs = np.random.RandomState(seed)
  t, f = int(config.data.seq_len), constants.NUM_CHANNELS
  x = jnp.asarray(rs.randn(batch_size, t, f), jnp.float32)
  x_ref = jnp.asarray(rs.randn(batch_size, t, f), jnp.float32)
  v_src = jnp.asarray(rs.uniform(0.5, 1.85, batch_size), jnp.float32)
  v_tgt = jnp.asarray(rs.uniform(0.5, 1.85, batch_size), jnp.float32)
  return x, x_ref, v_src, v_tgt


class _Sampler:
  """The real DDIM sampler (sampling._ddim_scan) of one config, compiled
  ahead of time per (batch, steps) so compiling is never timed."""

  def __init__(self, config):
    # pylint: disable=g-import-not-at-top
    from gaitjax.diffusion import schedule as sched
    from gaitjax.models import denoiser
    from gaitjax.train import tasks
    self.config = config
    self.model = denoiser.make_model(config)
    self.schedule = sched.make_schedule(config.diffusion.schedule,
                                        config.diffusion.num_timesteps)
    task = tasks.get_task(config)
    example = {k: v[0] for k, v in random_batch(config, 1).items()}
    self.params = jax.jit(task.init_params)(jax.random.key(0), example)
    self._flops: Dict[int, Dict[str, Optional[float]]] = {}

  def compile(self, batch_size: int, num_steps: int):
    from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
    x_src, x_ref, v_src, v_tgt = _sampler_inputs(self.config, batch_size)
    args = (self.params, self.model, self.schedule, x_src, x_ref, v_src,
            v_tgt, jax.random.key(2), None)
    kwargs = dict(num_steps=num_steps, eta=float(self.config.sampling.eta),
                  prediction=str(self.config.diffusion.prediction),
                  clip_x0=self.config.sampling.get("clip_x0", None))
    t0 = time.perf_counter()
    compiled = sampling._ddim_scan.lower(*args, **kwargs).compile()  # pylint: disable=protected-access
    compile_s = time.perf_counter() - t0
    dynamic = (self.params, self.schedule, x_src, x_ref, v_src, v_tgt,
               jax.random.key(2), None)
    return (lambda: compiled(*dynamic).block_until_ready()), compile_s

  def flops(self, batch_size: int) -> Dict[str, Optional[float]]:
    """{'denoise': one denoise call, 'encode': the conditioning} FLOPs."""
    if batch_size not in self._flops:
      from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
      x_src, x_ref, v_src, v_tgt = _sampler_inputs(self.config, batch_size)
      cond = sampling._encode(self.params, self.model, x_src, v_src, v_tgt)  # pylint: disable=protected-access
      t = jnp.full((batch_size,), 500, jnp.int32)
      with no_chunking():
        den = compiled_flops(jax.jit(
            lambda p, z, xr, c, tt: self.model.apply(
                {"params": p}, z, xr, c, tt, train=False,
                method=self.model.denoise)), self.params, x_ref, x_ref, cond, t)
      enc = compiled_flops(jax.jit(
          lambda p, xs, vs, vt: self.model.apply(
              {"params": p}, xs, vs, vt, method=self.model.encode)),
                           self.params, x_src, v_src, v_tgt)
      self._flops[batch_size] = {"denoise": den, "encode": enc}
    return self._flops[batch_size]


def bench_sample(size: str, batch_sizes: Sequence[int],
                 steps: Sequence[int], *, peak: Optional[float] = None,
                 repeats: int = 3, config=None,
                 sampler: Optional["_Sampler"] = None, scaling: bool = True,
                 warmup: int = 1,
                 print_fn: PrintFn = _stdout) -> List[Record]:
  """DDIM sequences/s and MFU over batch x steps, then linear fits of
  seconds against steps (per batch) and against batch (per steps).

  The sampler is compiled ahead of time, so warmup=0 still excludes
  compilation (used for the minutes-long paper-size runs)."""
  config = config or size_config(size)
  sampler = sampler or _Sampler(config)
  records = []
  for b in batch_sizes:
    fl = sampler.flops(b)
    for s in steps:
      run, compile_s = sampler.compile(b, s)
      stats = time_stats(run, repeats=repeats, warmup=warmup)
      flops = (fl["denoise"] * s + (fl["encode"] or 0.0)
               if fl["denoise"] else None)
      records.append(emit({
          "name": "ddim_sample", "size": size, "batch_size": b,
          "num_steps": s, **_model_fields(config), **stats,
          "sequences_per_s": b / stats["seconds"],
          "seconds_per_step": stats["seconds"] / s,
          "compile_seconds": compile_s, "flops": flops,
          "flops_method": "xla_cost_analysis(one denoise call) * num_steps"
                          " + xla_cost_analysis(encoder): XLA counts a scan"
                          " body once",
          "flops_per_s": flops / stats["seconds"] if flops else None,
          "mfu": _mfu(flops, stats["seconds"], peak)}, print_fn))
  if scaling:
    records.extend(sample_scaling(records, size, print_fn=print_fn))
  return records


def linear_fit(x: Sequence[float], y: Sequence[float]) -> Dict[str, float]:
  """Least-squares y = intercept + slope * x."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.size < 2 or np.ptp(x) == 0:
    return {"slope": float("nan"), "intercept": float("nan")}
  slope, intercept = np.polyfit(x, y, 1)
  return {"slope": float(slope), "intercept": float(intercept)}


def sample_scaling(records: Sequence[Record], size: str,
                   print_fn: PrintFn = _stdout) -> List[Record]:
  """How sampling time grows: seconds vs steps at each batch, and seconds
  vs batch at each step count (only where there are >= 2 points)."""
  out = []
  for key, other in (("num_steps", "batch_size"), ("batch_size", "num_steps")):
    for fixed in sorted({r[other] for r in records}):
      pts = sorted((r[key], r["seconds"]) for r in records
                   if r[other] == fixed)
      if len({p[0] for p in pts}) < 2:
        continue
      fit = linear_fit([p[0] for p in pts], [p[1] for p in pts])
      out.append(emit({"name": "ddim_scaling", "size": size,
                       "versus": key, other: fixed,
                       "points": [[p[0], p[1]] for p in pts],
                       "slope_seconds_per_unit": fit["slope"],
                       "intercept_seconds": fit["intercept"]}, print_fn))
  return out


# ------------------------------------------------------ generation request

# The realistic generation job (issue 13): one request = one source
# recording, REQUEST_SPEEDS target speeds x REQUEST_SAMPLES samples each
# (the uncertainty band), all rows in one DDIM scan.
REQUEST_SAMPLES = 8
REQUEST_SPEEDS = (0.6, 0.9, 1.2, 1.5)


def bench_request(size: str, num_steps: int, *, peak: Optional[float] = None,
                repeats: int = 3, config=None,
                sampler: Optional["_Sampler"] = None, warmup: int = 1,
                print_fn: PrintFn = _stdout) -> Record:
  """Sequences/s of one generation request (K = REQUEST_SAMPLES samples x
  len(REQUEST_SPEEDS) target speeds of one source) in one DDIM scan.

  The rows are laid out as gaitjax.generate.Generator lays them out (the
  source repeated per row); sampling.ddim_sample_request encodes the one
  source once and broadcasts its conditioning to the rows.
  """
  from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
  config = config or size_config(size)
  sampler = sampler or _Sampler(config)
  rows = REQUEST_SAMPLES * len(REQUEST_SPEEDS)
  x_src, x_ref, v_src, _ = _sampler_inputs(config, rows)
  x_src = jnp.broadcast_to(x_src[:1], x_src.shape)
  v_src = jnp.full((rows,), 1.0, jnp.float32)
  v_tgt = jnp.asarray(np.repeat(np.asarray(REQUEST_SPEEDS, np.float32),
                                REQUEST_SAMPLES))
  source_index = jnp.zeros((rows,), jnp.int32)
  kwargs = dict(num_steps=num_steps, eta=float(config.sampling.eta),
                prediction=str(config.diffusion.prediction),
                clip_x0=config.sampling.get("clip_x0", None))
  fast = hasattr(sampling, "ddim_sample_request")
  if fast:
    fn = jax.jit(lambda p, xs, xr, vs, vt, r: sampling.ddim_sample_request(
        p, sampler.model, sampler.schedule, xs, xr, vs, vt, source_index,
        r, **kwargs))
    args = (sampler.params, x_src[:1], x_ref, v_src[:1], v_tgt,
            jax.random.key(2))
  else:
    fn = jax.jit(lambda p, xs, xr, vs, vt, r: sampling.ddim_sample(
        p, sampler.model, sampler.schedule, xs, xr, vs, vt, r, **kwargs))
    args = (sampler.params, x_src, x_ref, v_src, v_tgt, jax.random.key(2))
  t0 = time.perf_counter()
  compiled = fn.lower(*args).compile()
  compile_s = time.perf_counter() - t0
  stats = time_stats(lambda: compiled(*args).block_until_ready(),
                     repeats=repeats, warmup=warmup)
  fl = sampler.flops(rows)
  enc = sampler.flops(1)["encode"] if fast else fl["encode"]
  flops = (fl["denoise"] * num_steps + (enc or 0.0)
           if fl["denoise"] else None)
  return emit({"name": "generate_request", "size": size,
               "samples": REQUEST_SAMPLES,
               "target_speeds": len(REQUEST_SPEEDS), "batch_size": rows,
               "num_steps": num_steps, "encoder_runs": 1 if fast else rows,
               **_model_fields(config), **stats,
               "sequences_per_s": rows / stats["seconds"],
               "requests_per_s": 1.0 / stats["seconds"],
               "compile_seconds": compile_s, "flops": flops,
               "flops_method": "xla_cost_analysis(one denoise call) * "
                               "num_steps + encoder runs",
               "flops_per_s": flops / stats["seconds"] if flops else None,
               "mfu": _mfu(flops, stats["seconds"], peak)}, print_fn)


# ------------------------------------------------------------------ table

# The rows of issue 13's table, per size: (train batch or None = the
# config's), (DDIM batch, steps), generation-request steps (None = the
# config's). Paper-size DDIM runs 10 steps: the per-step cost is what the
# fraction measures, and 100 steps x 64 sequences take ~6 min on 2 cores.
TABLE_PLAN = {
    "cpu_small": {"ddim": (64, 100), "request_steps": None},
    "paper": {"ddim": (16, 10), "request_steps": 10},
    "tiny": {"ddim": (4, 2), "request_steps": 2},
}


def _with_adjacent_peak(run: Callable[[], Record], print_fn: PrintFn
                        ) -> Record:
  """run() (a quiet bench_* call) between two dense-matmul measurements; its
  'mfu' is recomputed against their mean ('matmul_flops_per_s'), so a load
  that changes during the sweep (a shared machine) hits the row and its
  reference alike. Emits and returns the amended record."""
  quiet: PrintFn = lambda _: None
  before = matmul_peak(repeats=3, print_fn=quiet)["flops_per_s"]
  record = run()
  after = matmul_peak(repeats=3, print_fn=quiet)["flops_per_s"]
  peak = 0.5 * (before + after)
  record = {**record, "matmul_flops_per_s": peak,
            "matmul_before_after": [before, after],
            "mfu": _mfu(record.get("flops"), record["seconds"], peak),
            "load_average": _load_average()}
  return emit(record, print_fn)


def bench_table(sizes: Sequence[str], *, peak: Optional[float] = None,
                repeats: int = 3, print_fn: PrintFn = _stdout
                ) -> List[Record]:
  """Issue 13's rows per size: the train step at the config's batch, DDIM
  (TABLE_PLAN) and the generation request, each with its fraction of the
  dense-matmul rate measured right before and after it ('mfu')."""
  del peak  # each row measures its own (_with_adjacent_peak)
  quiet: PrintFn = lambda _: None
  out = []
  for size in sizes:
    config = size_config(size)
    plan = TABLE_PLAN[size]
    out.append(_with_adjacent_peak(lambda: bench_train(
        size, int(config.train.batch_size), repeats=repeats, config=config,
        print_fn=quiet), print_fn))
    sampler = _Sampler(config)
    b, s = plan["ddim"]
    out.append(_with_adjacent_peak(lambda: bench_sample(
        size, (b,), (s,), repeats=repeats, config=config, sampler=sampler,
        scaling=False, print_fn=quiet)[0], print_fn))
    steps = plan["request_steps"] or int(config.sampling.num_steps)
    out.append(_with_adjacent_peak(lambda: bench_request(
        size, steps, repeats=repeats, config=config, sampler=sampler,
        print_fn=quiet), print_fn))
  return out


def table_text(records: Sequence[Record]) -> str:
  """The table rows of a run: what, size, batch x steps, seconds, rate and
  the fraction of the dense-matmul rate measured in the same run."""
  lines = []
  mm = next((r for r in records if r["name"] == "dense_matmul"), None)
  loads = [r.get("load_average") for r in records
           if r["name"] in ("benchmark_start", "benchmark_end")]
  if mm:
    lines.append(f"matmul limit: {mm['flops_per_s'] / 1e9:.1f} GFLOP/s "
                 f"(f32 n={mm['n']}); load average start/end: "
                 f"{loads[0] if loads else '?'} / "
                 f"{loads[-1] if len(loads) > 1 else '?'}")
  lines.append(f"{'row':<18}{'size':<11}{'B x steps':>11}{'seconds':>10}"
               f"{'rate':>22}{'matmul GF/s':>12}{'fraction':>10}")
  for r in records:
    if r["name"] == "train_step":
      what, shape = "train step", f"{r['batch_size']}"
      rate = f"{1 / r['seconds']:.3g} steps/s"
    elif r["name"] == "ddim_sample":
      what, shape = "DDIM", f"{r['batch_size']} x {r['num_steps']}"
      rate = f"{r['sequences_per_s']:.3g} seq/s"
    elif r["name"] == "generate_request":
      what = f"request {r['samples']}x{r['target_speeds']}"
      shape = f"{r['batch_size']} x {r['num_steps']}"
      rate = f"{r['sequences_per_s']:.3g} seq/s"
    else:
      continue
    frac = "-" if r.get("mfu") is None else f"{r['mfu']:.2f}"
    ref = r.get("matmul_flops_per_s") or (mm or {}).get("flops_per_s")
    ref = "-" if not ref else f"{ref / 1e9:.1f}"
    lines.append(f"{what:<18}{r['size']:<11}{shape:>11}"
                 f"{r['seconds']:>10.3f}{rate:>22}{ref:>12}{frac:>10}")
  return "\n".join(lines)


# ---------------------------------------------------------------- profile


_PROFILE_FLOPS_METHOD = {
    "encoder": "xla_cost_analysis",
    "denoise": "xla_cost_analysis (chunking off: same math)",
    "attention": "matmul count: q,k,v,out projections 8*L*D^2 + QK^T and "
                 "PV 4*L^2*D, per example",
    "mlp": "matmul count: 4*L*D*mlp_dim per example"}


def bench_profile(size: str, batch_size: int, *, peak: Optional[float] = None,
                  repeats: int = 5, config=None,
                  print_fn: PrintFn = _stdout) -> List[Record]:
  """Where one forward pass spends its time: encoder, one denoise call,
  one block's attention (flax's default vs ours) and MLP (plain vs
  chunked), forward only, interleaved so load changes hit all alike."""
  # pylint: disable=g-import-not-at-top
  import flax.linen as nn
  from gaitjax.diffusion import sampling
  from gaitjax.models import attention as attention_lib
  from gaitjax.models import denoiser
  config = config or size_config(size)
  sampler = _Sampler(config)
  model, params = sampler.model, sampler.params
  x_src, x_ref, v_src, v_tgt = _sampler_inputs(config, batch_size)
  t = jnp.full((batch_size,), 500, jnp.int32)
  cond = sampling._encode(params, model, x_src, v_src, v_tgt)  # pylint: disable=protected-access
  m = config.model
  tokens = int(config.data.seq_len) // int(m.patch_size)
  h = jax.random.normal(jax.random.key(3), (batch_size, tokens, m.width))

  def attention(fn):
    mod = nn.MultiHeadDotProductAttention(
        num_heads=m.num_heads, deterministic=True, attention_fn=fn)
    p = mod.init(jax.random.key(4), h, h)
    f = jax.jit(lambda p, h: mod.apply(p, h, h))
    return lambda: f(p, h).block_until_ready()

  def mlp(budget):
    mod = denoiser.MLPBlock(m.mlp_dim, max_chunk_elements=budget)
    p = mod.init(jax.random.key(5), h)
    f = jax.jit(lambda p, h: mod.apply(p, h))
    return lambda: f(p, h).block_until_ready()

  enc = jax.jit(lambda p: model.apply({"params": p}, x_src, v_src, v_tgt,
                                      method=model.encode))
  den = jax.jit(lambda p: model.apply({"params": p}, x_ref, x_ref, cond, t,
                                      train=False, method=model.denoise))
  d, layer_tokens = int(m.width), batch_size * tokens
  parts = {
      "encoder": (lambda: enc(params).block_until_ready(),
                  sampler.flops(batch_size)["encode"]),
      "denoise_call": (lambda: den(params).block_until_ready(),
                       sampler.flops(batch_size)["denoise"]),
      "attention_flax_default": (attention(nn.dot_product_attention),
                                 layer_tokens * (8 * d * d + 4 * tokens * d)),
      "attention_chunked": (attention(attention_lib.chunked_attention),
                            layer_tokens * (8 * d * d + 4 * tokens * d)),
      "mlp_plain": (mlp(1 << 62), layer_tokens * 4 * d * m.mlp_dim),
      "mlp_chunked": (mlp(None), layer_tokens * 4 * d * m.mlp_dim),
  }
  times: Dict[str, List[float]] = {k: [] for k in parts}
  for fn, _ in parts.values():
    fn()
  for _ in range(max(1, repeats)):
    for k, (fn, _) in parts.items():
      t0 = time.perf_counter()
      fn()
      times[k].append(time.perf_counter() - t0)
  out = []
  for k, (_, flops) in parts.items():
    sec = statistics.median(times[k])
    out.append(emit({"name": "profile", "size": size, "part": k,
                     "batch_size": batch_size, "seconds": sec,
                     "min_seconds": min(times[k]), "repeats": len(times[k]),
                     "flops": flops,
                     "flops_method": _PROFILE_FLOPS_METHOD[k.split("_")[0]],
                     "flops_per_s": flops / sec if flops else None,
                     "mfu": _mfu(flops, sec, peak)}, print_fn))
  return out


# ------------------------------------------------------- per-op profile


def _hlo_op_kinds(hlo_text: str) -> Dict[str, str]:
  """{instruction name: kind} of a compiled HLO module's text, kind one of
  'matmul' (a dot/convolution, or a fusion holding one), 'loop' (a while:
  its time includes its body's ops), 'elementwise' (any other fusion or op:
  softmax, norms, activations, the optimiser update, copies)."""
  import re  # pylint: disable=g-import-not-at-top
  comps: Dict[str, List[str]] = {}
  cur = None
  for line in hlo_text.splitlines():
    head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
    if head and "(" in line:
      cur = head.group(1)
      comps[cur] = []
    elif cur is not None:
      comps[cur].append(line.strip())
  kinds = {}
  for lines in comps.values():
    for line in lines:
      # The opcode is the first word followed by '(' after the shape, which
      # may be a tuple: '%while.3 = (s32[], f32[2,8]{1,0}) while(...)'.
      m = re.match(r"^(?:ROOT )?%?([\w.\-]+) = (.*?)\s?([a-z][\w\-]*)\(",
                   line)
      if not m:
        continue
      name, op = m.group(1), m.group(3)
      called = re.search(r"calls=%?([\w.\-]+)", line)
      body = " ".join(comps.get(called.group(1), [])) if called else ""
      if op in ("dot", "convolution") or " dot(" in body or (
          " convolution(" in body):
        kinds[name] = "matmul"
      elif op == "while" or name.startswith("while"):
        kinds[name] = "loop"
      else:
        kinds[name] = "elementwise"
  return kinds


def op_profile(fn: Callable, *args, repeats: int = 3,
               top: int = 12) -> Record:
  """Where a jitted fn(*args) spends its time, op by op (XLA:CPU thunks
  from jax.profiler's trace, named as in the compiled HLO).

  Returns {'seconds_per_call', 'by_kind': {kind: seconds per call},
  'top_ops': [[name, kind, seconds per call], ...]} with kinds from
  _hlo_op_kinds. 'loop' time contains the matmul/elementwise time of its
  body, which is also listed under those kinds; the other kinds do not
  overlap.
  """
  # pylint: disable=g-import-not-at-top
  import collections
  import glob
  import gzip
  import tempfile
  kinds = _hlo_op_kinds(fn.lower(*args).compile().as_text())
  jax.block_until_ready(fn(*args))
  with tempfile.TemporaryDirectory() as d:
    t0 = time.perf_counter()
    with jax.profiler.trace(d, create_perfetto_trace=True):
      for _ in range(repeats):
        jax.block_until_ready(fn(*args))
    wall = (time.perf_counter() - t0) / repeats
    (path,) = glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)
    with gzip.open(path) as f:
      events = json.load(f)["traceEvents"]
  per_op: Dict[str, float] = collections.Counter()
  for e in events:
    if e.get("ph") == "X" and e.get("name") in kinds:
      per_op[e["name"]] += e["dur"] * 1e-6 / repeats
  by_kind: Dict[str, float] = collections.Counter()
  for name, sec in per_op.items():
    by_kind[kinds[name]] += sec
  return {"seconds_per_call_traced": wall, "by_kind": dict(by_kind),
          "top_ops": [[n, kinds[n], s] for n, s in
                      sorted(per_op.items(), key=lambda x: -x[1])[:top]]}


def bench_op_profile(size: str, batch_size: int, *, repeats: int = 3,
                     config=None, print_fn: PrintFn = _stdout
                     ) -> List[Record]:
  """op_profile of a size's value_and_grad of the training loss (what the
  train step differentiates; the optimiser update is the 'update' part)
  and of one denoise call (a DDIM step), one record each."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.train import state as state_lib
  from gaitjax.train import tasks
  config = config or size_config(size)
  task = tasks.get_task(config)
  example = {k: jnp.asarray(v[0]) for k, v in
             random_batch(config, batch_size).items()}
  state = jax.jit(lambda rng: state_lib.create_train_state(
      rng, config, task, example))(jax.random.key(0))
  rng = jax.random.key(1)
  grad = jax.jit(jax.value_and_grad(
      lambda p, b: task.loss_fn(p, b, rng, train=True), has_aux=True))
  grads = grad(state.params, example)[1]
  update = jax.jit(lambda s, g: s.apply_gradients(g))
  sampler = _Sampler(config)
  x_src, x_ref, v_src, v_tgt = _sampler_inputs(config, batch_size)
  from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
  cond = sampling._encode(sampler.params, sampler.model, x_src, v_src, v_tgt)  # pylint: disable=protected-access
  t = jnp.full((batch_size,), 500, jnp.int32)
  denoise = jax.jit(lambda p, z: sampler.model.apply(
      {"params": p}, z, x_ref, cond, t, train=False,
      method=sampler.model.denoise))
  parts = {"loss_value_and_grad": (grad, (state.params, example)),
           "optimizer_update": (update, (state, grads)),
           "denoise_call": (denoise, (sampler.params, x_ref))}
  out = []
  for part, (fn, args) in parts.items():
    prof = op_profile(fn, *args, repeats=repeats)
    out.append(emit({"name": "op_profile", "size": size, "part": part,
                     "batch_size": batch_size, **prof}, print_fn))
  return out


# ------------------------------------------------------------------- eval


def _synthetic_pairs(num_pairs: int, seed: int = 0):
  """(real, gen [N, T, 6] degrees, meta) from the synthetic cohort."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.data import preprocess, synthetic
  trials = synthetic.make_able_bodied_cohort(
      seed=seed, num_subjects=2, speeds=(0.6, 0.9, 1.2, 1.5), duration_s=31.0)
  x = np.stack([preprocess.to_model_input(tr) for tr in trials])
  idx = np.arange(num_pairs) % len(trials)
  rs = np.random.RandomState(seed)
  real = x[idx]
  gen = x[(idx + 1) % len(trials)] + rs.randn(*real.shape).astype(
      np.float32)
  meta = {"subject": [trials[i].subject for i in idx],
          "v_src": [trials[i].speed_mps for i in idx],
          "v_tgt": [trials[i].speed_mps for i in idx],
          "cohort": ["able_bodied"] * num_pairs,
          "paretic_side": [""] * num_pairs}
  return real, gen, meta


def bench_eval(num_pairs: int = 64, *, repeats: int = 3,
               print_fn: PrintFn = _stdout) -> List[Record]:
  """Pairs/s of cycles.cycle_mae and metrics.pair_records (host numpy)."""
  # pylint: disable=g-import-not-at-top
  from gaitjax.eval import metrics
  from gaitjax.gait import cycles
  real, gen, meta = _synthetic_pairs(num_pairs)
  rate = constants.RATE_HZ
  fns = {
      "cycle_mae": lambda: [cycles.cycle_mae(real[i], gen[i], rate)
                            for i in range(num_pairs)],
      "pair_records": lambda: metrics.pair_records(real, gen, meta,
                                                   rate_hz=rate),
  }
  out = []
  for name, fn in fns.items():
    stats = time_stats(fn, repeats=repeats, warmup=1)
    out.append(emit({"name": "eval", "function": name,
                     "num_pairs": num_pairs, **stats,
                     "pairs_per_s": num_pairs / stats["seconds"]}, print_fn))
  return out


# -------------------------------------------------------------- gpu_smoke

# Datasheet dense (no sparsity) bf16 tensor-core FLOP/s, matched against
# jax's device_kind in this order (first substring wins: 'L40S' before 'L4',
# 'PCIe' H100 before the SXM part).
DATASHEET_BF16: Tuple[Tuple[str, float, str], ...] = (
    ("H100 PCIe", 756e12, "NVIDIA H100 PCIe datasheet, dense bf16"),
    ("H200", 989e12, "NVIDIA H200 datasheet, dense bf16"),
    ("H100", 989e12, "NVIDIA H100 SXM datasheet, dense bf16"),
    ("A100", 312e12, "NVIDIA A100 datasheet, dense bf16"),
    ("L40S", 362e12, "NVIDIA L40S datasheet, dense bf16"),
    ("L4", 121e12, "NVIDIA L4 datasheet, dense bf16"),
)
# The one-GPU reference of the CPU estimate: an H100-class part at 40 % MFU.
H100_BF16_FLOPS = 989e12
ESTIMATE_MFU = 0.4
# verdict of gpu_smoke: pipeline pairs/s over the pairs/s training needs;
# >= 2x headroom is not a bottleneck, 1-2x is marginal (the loop prefetches
# in one thread that shares the host with dispatching the step).
VERDICTS = ("data_not_bottleneck", "data_marginal", "data_bottleneck")
_GPU_SMOKE_NUMBERS = (
    "matmul_flops_per_s", "train_seconds_per_step", "train_steps_per_s",
    "train_pairs_per_s", "train_flops_per_step", "train_mfu_vs_matmul",
    "sample_seconds", "sample_sequences_per_s", "sample_flops",
    "sample_mfu_vs_matmul", "pipeline_pairs_per_s",
    "h100_estimate_steps_per_s", "needed_pairs_per_s", "pipeline_headroom")


def datasheet_peak(device_kind: str) -> Optional[Tuple[float, str]]:
  """(dense bf16 FLOP/s, source) of a known GPU, None for anything else."""
  kind = device_kind.upper()
  for key, flops, source in DATASHEET_BF16:
    if key.upper() in kind:
      return flops, source
  return None


def pipeline_verdict(pipeline_pairs_per_s: float,
                     needed_pairs_per_s: float) -> Tuple[str, float]:
  """(one of VERDICTS, headroom = pipeline / needed)."""
  headroom = pipeline_pairs_per_s / max(needed_pairs_per_s, 1e-12)
  if headroom >= 2.0:
    return VERDICTS[0], headroom
  if headroom >= 1.0:
    return VERDICTS[1], headroom
  return VERDICTS[2], headroom


def verdict_line(verdict: str, headroom: float, pipeline_pairs_per_s: float,
                 needed_pairs_per_s: float, basis: str) -> str:
  """The one-line verdict of gpu_smoke, e.g. 'data loading would not be
  the bottleneck: the pipeline gives 3.10x the pairs/s training needs
  (...)'."""
  would = "would" if verdict == VERDICTS[2] else "would not"
  marginal = " (marginal)" if verdict == VERDICTS[1] else ""
  return (f"data loading {would} be the bottleneck{marginal}: the pipeline "
          f"gives {headroom:.2f}x the pairs/s training needs "
          f"({pipeline_pairs_per_s:,.0f} vs {needed_pairs_per_s:,.0f} "
          f"pairs/s; needed = {basis})")


def gpu_smoke_config(size: str = "paper") -> ml_collections.ConfigDict:
  """size_config(size), in bf16 on GPU/TPU as configs/default.py trains
  there (size_config keeps f32, the fast dtype on CPU)."""
  config = size_config(size)
  if jax.default_backend() != "cpu":
    config.model.dtype = "bfloat16"
  return config


def gpu_smoke(size: str = "paper", *, config=None,
              ddim_steps: int = 0, ddim_batch: int = 0,
              repeats: int = 0, matmul_n: int = 0,
              pipeline_subjects: int = 13, pipeline_batches: int = 40,
              output: Optional[str] = None,
              print_fn: PrintFn = _stdout) -> Record:
  """The short prepared GPU check (launch/benchmark.py --what=gpu_smoke).

  Measures on one device: the dense-matmul FLOP/s (bf16 n=8192 on GPU/TPU,
  f32 n=2048 on CPU), the paper-size train step (batch
  config.train.batch_size) and DDIM sampling (``ddim_steps`` steps x
  ``ddim_batch`` sequences), each with MFU against the
  matmul rate and, on a known GPU, the datasheet bf16 peak; then the data
  pipeline's pairs/s on this host against the pairs/s training needs:
  batch x the measured steps/s on an accelerator, or on CPU batch x the
  steps/s of one H100-class GPU at 40 % MFU (from the step's XLA FLOPs).

  Args:
    size: a size_config name; config: measure this config instead.
    ddim_steps, ddim_batch: the sampling run; 0 = 100 steps x
      config.sampling.batch_size on GPU/TPU, 10 steps x 16 on CPU (a
      paper-size DDIM step takes ~0.8 s per 16 sequences on 2 CPU cores).
    repeats: timed runs per measurement (0 = 20 on an accelerator, 3 on CPU).
    matmul_n: the reference matmul's size (0 = by backend, as above).
    pipeline_subjects, pipeline_batches: the synthetic cohort and the number
      of batches of the pipeline measurement.
    output: JSON file to write (atomically: temp file, then rename).
    print_fn: where the table goes (sub-records are not printed).
  Returns:
    The flat summary record written to ``output`` (see _GPU_SMOKE_NUMBERS;
    the mfu_vs_datasheet fields are None off a known GPU) with the raw
    records under 'records'.
  """
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  for flag, value in (("--pipeline_batches", pipeline_batches),
                      ("--pipeline_subjects", pipeline_subjects)):
    if value < 1:
      raise ConfigError(f"{flag} must be >= 1, got {value}")
  for flag, value in (("--ddim_steps", ddim_steps),
                      ("--ddim_batch", ddim_batch), ("--repeats", repeats),
                      ("--matmul_n", matmul_n)):
    if value < 0:
      raise ConfigError(f"{flag} must be >= 0 (0 = default), got {value}")
  t_start = time.perf_counter()
  quiet: PrintFn = lambda _: None
  on_accel = jax.default_backend() != "cpu"
  config = config if config is not None else gpu_smoke_config(size)
  repeats = repeats or (20 if on_accel else 3)
  device = str(jax.devices()[0].device_kind)
  sheet = datasheet_peak(device) if on_accel else None
  sheet_peak = sheet[0] if sheet else None

  mm = matmul_peak(n=matmul_n or (8192 if on_accel else 2048),
                   repeats=max(5, repeats),
                   dtype="bfloat16" if on_accel else "float32",
                   print_fn=quiet)
  peak = mm["flops_per_s"]
  batch = int(config.train.batch_size)
  train = bench_train(size, batch, peak=peak, repeats=repeats, config=config,
                      print_fn=quiet)
  ddim_steps = ddim_steps or (100 if on_accel else 10)
  sample_batch = ddim_batch or (int(config.sampling.batch_size) if on_accel
                                else 16)
  # Compiled ahead of time, so warmup=0 still excludes compilation; an
  # accelerator run is short enough for a warm-up and several repeats.
  (sample,) = bench_sample(size, (sample_batch,), (ddim_steps,), peak=peak,
                           repeats=repeats if on_accel else 1,
                           config=config, scaling=False,
                           warmup=1 if on_accel else 0, print_fn=quiet)
  reference = str(config.data.reference)
  # bench_pipeline fits a cycle template for any reference but 'source'; the
  # regression reference costs the same per pair (one predicted cycle).
  pipe_ref = "template" if reference == "regression" else reference
  (pipe,) = bench_pipeline(batch_size=batch, num_batches=pipeline_batches,
                           num_subjects=pipeline_subjects,
                           references=(pipe_ref,), print_fn=quiet)

  steps_per_s = 1.0 / train["seconds"]
  flops_step = train["flops"]
  est_steps = (ESTIMATE_MFU * H100_BF16_FLOPS / flops_step
               if flops_step else float("nan"))
  if on_accel:
    needed, basis = batch * steps_per_s, "measured train steps/s"
  else:
    needed = batch * est_steps
    basis = (f"one H100-class GPU at {ESTIMATE_MFU:.0%} MFU "
             f"({H100_BF16_FLOPS / 1e12:.0f} TFLOP/s bf16), from the step's "
             f"XLA FLOPs")
  verdict, headroom = pipeline_verdict(pipe["pairs_per_s"], needed)
  line = verdict_line(verdict, headroom, pipe["pairs_per_s"], needed, basis)
  record = {
      "name": "gpu_smoke", "size": size, "backend": jax.default_backend(),
      "device": device, "num_devices": jax.local_device_count(),
      "jax": jax.__version__, **_model_fields(config),
      "matmul_n": mm["n"], "matmul_dtype": mm["dtype"],
      "matmul_flops_per_s": peak,
      "datasheet_flops_per_s": sheet_peak,
      "datasheet_source": sheet[1] if sheet else None,
      "train_batch_size": batch, "train_seconds_per_step": train["seconds"],
      "train_steps_per_s": steps_per_s,
      "train_pairs_per_s": train["pairs_per_s"],
      "train_flops_per_step": flops_step,
      "train_mfu_vs_matmul": train["mfu"],
      "train_mfu_vs_datasheet": _mfu(flops_step, train["seconds"],
                                     sheet_peak),
      "train_compile_seconds": train["compile_seconds"],
      "sample_batch_size": sample_batch, "sample_num_steps": ddim_steps,
      "sample_seconds": sample["seconds"],
      "sample_sequences_per_s": sample["sequences_per_s"],
      "sample_flops": sample["flops"],
      "sample_mfu_vs_matmul": sample["mfu"],
      "sample_mfu_vs_datasheet": _mfu(sample["flops"], sample["seconds"],
                                      sheet_peak),
      "sample_compile_seconds": sample["compile_seconds"],
      "pipeline_reference": pipe_ref,
      "pipeline_pairs_per_s": pipe["pairs_per_s"],
      "h100_estimate_steps_per_s": est_steps,
      "needed_pairs_per_s": needed, "needed_basis": basis,
      "pipeline_headroom": headroom, "verdict": verdict,
      "verdict_line": line, "repeats": repeats,
      "wall_seconds": time.perf_counter() - t_start,
      "records": [mm, train, sample, pipe]}
  if output:
    from gaitjax import files  # pylint: disable=g-import-not-at-top
    files.atomic_write_json(output, json.loads(json.dumps(
        record, default=_json_default)))
  print_fn(gpu_smoke_table(record))
  return record


def gpu_smoke_table(r: Record) -> str:
  """The gpu_smoke record as a plain-text table."""
  def tf(x):
    return "-" if x is None else f"{x / 1e12:.3g} TFLOP/s"

  def pct(x):
    return "-" if x is None else f"{100 * x:.1f} %"

  def gflop(x):
    return "? GFLOP" if x is None else f"{x / 1e9:.4g} GFLOP"

  rows = [
      ("device", f"{r['device']} ({r['backend']}), model dtype {r['dtype']}"),
      ("peak: dense matmul (this run)",
       f"{tf(r['matmul_flops_per_s'])} ({r['matmul_dtype']}, "
       f"n={r['matmul_n']})"),
      ("peak: datasheet bf16", tf(r["datasheet_flops_per_s"])),
      (f"train step (B={r['train_batch_size']})",
       f"{r['train_steps_per_s']:.3g} steps/s, "
       f"{r['train_seconds_per_step'] * 1e3:.4g} ms/step, "
       f"{r['train_pairs_per_s']:,.0f} pairs/s"),
      ("  MFU vs matmul / datasheet",
       f"{pct(r['train_mfu_vs_matmul'])} / "
       f"{pct(r['train_mfu_vs_datasheet'])} "
       f"({gflop(r['train_flops_per_step'])}/step)"),
      (f"DDIM {r['sample_num_steps']} steps (B={r['sample_batch_size']})",
       f"{r['sample_sequences_per_s']:.3g} sequences/s, "
       f"{r['sample_seconds']:.3g} s per batch"),
      ("  MFU vs matmul / datasheet",
       f"{pct(r['sample_mfu_vs_matmul'])} / "
       f"{pct(r['sample_mfu_vs_datasheet'])} "
       f"({gflop(r['sample_flops'])}/batch)"),
      (f"data pipeline ({r['pipeline_reference']} reference)",
       f"{r['pipeline_pairs_per_s']:,.0f} pairs/s on this host"),
      ("pairs/s training needs",
       f"{r['needed_pairs_per_s']:,.0f} ({r['needed_basis']})"),
      ("verdict", f"{r['verdict']} (pipeline / needed = "
                  f"{r['pipeline_headroom']:.2f}x)"),
  ]
  width = max(len(k) for k, _ in rows)
  lines = [f"gpu_smoke, size {r['size']} ({r['wall_seconds']:.0f} s)"]
  lines += [f"{k:<{width}}  {v}" for k, v in rows]
  lines.append(r["verdict_line"])
  return "\n".join(lines)


# -------------------------------------------------------------------- all

WHATS = ("all", "matmul", "pipeline", "train", "sample", "eval", "profile",
         "table", "ops")


def run_benchmarks(sizes: Sequence[str] = ("paper", "cpu_small"),
                   what: str = "all", *, repeats: int = 3,
                   quick: bool = False,
                   print_fn: PrintFn = _stdout) -> List[Record]:
  """The launch/benchmark.py sweep; the matmul reference always runs first.

  quick: paper-size sampling only at batch 16 with 10 and 100 steps (one
  timed run of 100 steps), a shorter pipeline run.
  """
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  if what not in WHATS:
    raise ConfigError(f"--what must be one of {', '.join(WHATS)}, got "
                      f"{what!r}")
  for s in sizes:
    size_config(s)  # fail early on an unknown size
  records = [emit({"name": "benchmark_start", "sizes": list(sizes),
                   "what": what, "quick": quick, "repeats": repeats,
                   "jax": jax.__version__,
                   "backend": jax.default_backend(),
                   "load_average": _load_average()}, print_fn)]
  peak_rec = matmul_peak(repeats=max(5, repeats), print_fn=print_fn)
  records.append(peak_rec)
  peak = peak_rec["flops_per_s"]
  if what == "ops":
    for size in sizes:
      config = size_config(size)
      records += bench_op_profile(size, int(config.train.batch_size),
                                  repeats=repeats, config=config,
                                  print_fn=print_fn)
    return records
  if what == "table":
    records += bench_table(sizes, peak=peak, repeats=repeats,
                           print_fn=print_fn)
    records.append(emit({"name": "benchmark_end",
                         "load_average": _load_average()}, print_fn))
    print_fn(table_text(records))
    return records
  do = lambda w: what in ("all", w)
  if do("pipeline"):
    records += bench_pipeline(num_batches=10 if quick else 40,
                              print_fn=print_fn)
  for size in sizes:
    config = size_config(size)
    if do("profile"):
      records += bench_profile(size, 16, peak=peak, repeats=repeats,
                               config=config, print_fn=print_fn)
    if do("train"):
      # 2x the config batch: the larger-batch route of issue 13.
      for b in sorted({16, int(config.train.batch_size),
                       2 * int(config.train.batch_size)}):
        records.append(bench_train(size, b, peak=peak, repeats=repeats,
                                   config=config, print_fn=print_fn))
    if do("sample"):
      if size == "paper" and quick:
        plan = [((16,), (10,), repeats, 1), ((16,), (100,), 1, 0)]
      else:
        plan = [((1, 16, 64), (10, 50, 100), repeats, 1)]
      sampler = _Sampler(config)
      got = []
      for batches, steps, reps, warm in plan:
        got += bench_sample(size, batches, steps, peak=peak, repeats=reps,
                            config=config, sampler=sampler, scaling=False,
                            warmup=warm, print_fn=print_fn)
      records += got + sample_scaling(got, size, print_fn=print_fn)
  if do("eval"):
    records += bench_eval(32 if quick else 128, repeats=repeats,
                          print_fn=print_fn)
  records.append(emit({"name": "benchmark_end",
                       "load_average": _load_average()}, print_fn))
  return records


def _load_average() -> Optional[List[float]]:
  try:
    import os  # pylint: disable=g-import-not-at-top
    return [round(x, 2) for x in os.getloadavg()]
  except (OSError, AttributeError):
    return None
