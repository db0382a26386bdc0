"""The timed rows of gaitjax.benchmark: data pipeline, train step, DDIM
sampling (and its linear scaling), the K x speeds generation request, and
issue 13's table of them with fractions of the dense-matmul rate."""
import time
from typing import Callable, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gaitjax import constants
from gaitjax.bench.measure import (PrintFn, Record, compiled_flops, emit,
                                   flop_utilisation, linear_fit, load_average,
                                   matmul_peak, model_fields, no_chunking,
                                   print_stdout, random_batch, size_config,
                                   time_stats)


def bench_pipeline(*, batch_size: int = 32, num_batches: int = 20,
                   num_subjects: int = 13,
                   references: Sequence[str] = ("source", "template"),
                   print_fn: PrintFn = print_stdout) -> List[Record]:
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
                print_fn: PrintFn = print_stdout) -> Record:
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
               **model_fields(config), **stats,
               "pairs_per_s": batch_size / stats["seconds"],
               "compile_seconds": compile_s, "flops": flops,
               "flops_method": "xla_cost_analysis(train step, unchunked)",
               "flops_per_s": flops / stats["seconds"] if flops else None,
               "mfu": flop_utilisation(flops, stats["seconds"], peak),
               "first_loss": loss,
               "num_params": state_lib.param_count(holder["state"].params)},
              print_fn)


# --------------------------------------------------------------- sampling


def sampler_inputs(config, batch_size: int, seed: int = 0):
  rs = np.random.RandomState(seed)
  t, f = int(config.data.seq_len), constants.NUM_CHANNELS
  x = jnp.asarray(rs.randn(batch_size, t, f), jnp.float32)
  x_ref = jnp.asarray(rs.randn(batch_size, t, f), jnp.float32)
  v_src = jnp.asarray(rs.uniform(0.5, 1.85, batch_size), jnp.float32)
  v_tgt = jnp.asarray(rs.uniform(0.5, 1.85, batch_size), jnp.float32)
  return x, x_ref, v_src, v_tgt


class Sampler:
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
    x_src, x_ref, v_src, v_tgt = sampler_inputs(self.config, batch_size)
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
      x_src, x_ref, v_src, v_tgt = sampler_inputs(self.config, batch_size)
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
                 sampler: Optional["Sampler"] = None, scaling: bool = True,
                 warmup: int = 1,
                 print_fn: PrintFn = print_stdout) -> List[Record]:
  """DDIM sequences/s and MFU over batch x steps, then linear fits of
  seconds against steps (per batch) and against batch (per steps).

  The sampler is compiled ahead of time, so warmup=0 still excludes
  compilation (used for the minutes-long paper-size runs)."""
  config = config or size_config(size)
  sampler = sampler or Sampler(config)
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
          "num_steps": s, **model_fields(config), **stats,
          "sequences_per_s": b / stats["seconds"],
          "seconds_per_step": stats["seconds"] / s,
          "compile_seconds": compile_s, "flops": flops,
          "flops_method": "xla_cost_analysis(one denoise call) * num_steps"
                          " + xla_cost_analysis(encoder): XLA counts a scan"
                          " body once",
          "flops_per_s": flops / stats["seconds"] if flops else None,
          "mfu": flop_utilisation(flops, stats["seconds"], peak)}, print_fn))
  if scaling:
    records.extend(sample_scaling(records, size, print_fn=print_fn))
  return records


def sample_scaling(records: Sequence[Record], size: str,
                   print_fn: PrintFn = print_stdout) -> List[Record]:
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
                sampler: Optional["Sampler"] = None, warmup: int = 1,
                print_fn: PrintFn = print_stdout) -> Record:
  """Sequences/s of one generation request (K = REQUEST_SAMPLES samples x
  len(REQUEST_SPEEDS) target speeds of one source) in one DDIM scan.

  The rows are laid out as gaitjax.generate.Generator lays them out (the
  source repeated per row); sampling.ddim_sample_request encodes the one
  source once and broadcasts its conditioning to the rows.
  """
  from gaitjax.diffusion import sampling  # pylint: disable=g-import-not-at-top
  config = config or size_config(size)
  sampler = sampler or Sampler(config)
  rows = REQUEST_SAMPLES * len(REQUEST_SPEEDS)
  x_src, x_ref, v_src, _ = sampler_inputs(config, rows)
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
               **model_fields(config), **stats,
               "sequences_per_s": rows / stats["seconds"],
               "requests_per_s": 1.0 / stats["seconds"],
               "compile_seconds": compile_s, "flops": flops,
               "flops_method": "xla_cost_analysis(one denoise call) * "
                               "num_steps + encoder runs",
               "flops_per_s": flops / stats["seconds"] if flops else None,
               "mfu": flop_utilisation(flops, stats["seconds"], peak)}, print_fn)


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
            "mfu": flop_utilisation(record.get("flops"), record["seconds"], peak),
            "load_average": load_average()}
  return emit(record, print_fn)


def bench_table(sizes: Sequence[str], *, peak: Optional[float] = None,
                repeats: int = 3, print_fn: PrintFn = print_stdout
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
    sampler = Sampler(config)
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
