"""Speed measurements behind launch/benchmark.py: one JSON record each.

``run_benchmarks`` is the --what=... sweep. What it measures lives in
gaitjax/bench/ (docs/ARCHITECTURE.md):

  bench/measure.py    records, timing, FLOPs (XLA cost analysis) and model
                      FLOP utilisation, the dense-matmul reference, the
                      benchmark sizes and their random inputs;
  bench/speed.py      the timed rows: pipeline, train step, DDIM, the
                      K x speeds request, and issue 13's table;
  bench/profile.py    FLOPs per part (--what=profile), per-op time (--what=ops);
  bench/gpu_smoke.py  --what=gpu_smoke on an accelerator;
  bench/pipeline.py   pairs/s of the training data pipeline.

The names below are re-exported so ``from gaitjax import benchmark`` stays
the one import for scripts and tests; the eval row (host numpy metrics)
lives here.
"""
from typing import List, Sequence

import jax
import numpy as np

from gaitjax import constants
from gaitjax.bench.gpu_smoke import (DATASHEET_BF16, ESTIMATE_MFU,  # noqa: F401
                                     H100_BF16_FLOPS, VERDICTS,
                                     datasheet_peak, gpu_smoke,
                                     gpu_smoke_config, gpu_smoke_table,
                                     pipeline_verdict, verdict_line)
from gaitjax.bench.measure import (SIZES, PrintFn, Record,  # noqa: F401
                                   compiled_flops, emit, flop_utilisation,
                                   linear_fit, load_average, matmul_peak,
                                   no_chunking, print_stdout, random_batch,
                                   size_config, time_call, time_stats)
from gaitjax.bench.profile import (bench_op_profile, bench_profile,  # noqa: F401
                                   op_profile)
from gaitjax.bench.speed import (REQUEST_SAMPLES, REQUEST_SPEEDS,  # noqa: F401
                                 TABLE_PLAN, Sampler, bench_pipeline,
                                 bench_request, bench_sample, bench_table,
                                 bench_train, sample_scaling, table_text)


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
               print_fn: PrintFn = print_stdout) -> List[Record]:
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


# -------------------------------------------------------------------- all

WHATS = ("all", "matmul", "pipeline", "train", "sample", "eval", "profile",
         "table", "ops")


def run_benchmarks(sizes: Sequence[str] = ("paper", "cpu_small"),
                   what: str = "all", *, repeats: int = 3,
                   quick: bool = False,
                   print_fn: PrintFn = print_stdout) -> List[Record]:
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
                   "load_average": load_average()}, print_fn)]
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
                         "load_average": load_average()}, print_fn))
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
      sampler = Sampler(config)
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
                       "load_average": load_average()}, print_fn))
  return records
