"""Throughput of the training data pipeline (data/pipeline.py's PairSampler).

benchmark.bench_pipeline turns these rates into benchmark records; kept
out of data/ so the pipeline module holds only what training runs.
"""
import time
from typing import Callable, Dict, Sequence

import ml_collections

from gaitjax import constants
from gaitjax.data import dataset, normalize, pipeline, synthetic


def benchmark_pipeline(trials=None, template=None, batch_size: int = 32,
                       num_batches: int = 20,
                       references: Sequence[str] = ("source", "template"),
                       num_devices: int = 1, seed: int = 0,
                       print_fn: Callable[[str], None] = print
                       ) -> Dict[str, float]:
  """Pairs per second of PairSampler.batch for each reference kind.

  Args:
    trials: TrialSet to sample from; default a 13-subject synthetic
      able-bodied cohort (the training split's size).
    template: TemplateModel; default fit on ``trials``.
    batch_size, num_batches, num_devices, seed: what is timed.
    references: data.reference values to time.
    print_fn: where the result lines go.

  Returns:
    {reference: pairs/s}.
  """
  if trials is None:
    t0 = time.time()
    trials = dataset.TrialSet.from_trials(
        synthetic.make_able_bodied_cohort(seed=0, num_subjects=13))
    print_fn(f"benchmark: built {len(trials)} synthetic trials in "
             f"{time.time() - t0:.1f} s")
  stats = normalize.fit_stats(trials.x)
  if template is None and any(r != "source" for r in references):
    t0 = time.time()
    template = pipeline.fit_template(trials)
    print_fn(f"benchmark: template fit in {time.time() - t0:.1f} s")
  out = {}
  for kind in references:
    cfg = ml_collections.ConfigDict({
        "reference": kind, "swap_sides_prob": 0.5, "num_train_pairs": 100_000,
        "pair_fractions": (1 / 3,) * 3, "near_threshold_mps": 0.1,
        "source_speeds": (), "rate_hz": constants.RATE_HZ})
    t0 = time.time()
    sampler = pipeline.PairSampler(trials, stats, template, cfg,
                                   batch_size, num_devices, seed)
    setup = time.time() - t0
    sampler.batch(0)
    t0 = time.time()
    for step in range(1, num_batches + 1):
      sampler.batch(step)
    rate = num_batches * batch_size / (time.time() - t0)
    out[kind] = rate
    print_fn(f"benchmark: reference={kind} batch={batch_size}: "
             f"{rate:,.0f} pairs/s (setup {setup:.2f} s)")
  return out
