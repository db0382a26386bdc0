r"""Speed of the data pipeline, train step, DDIM sampler and evaluation.

Prints one JSON line per measurement; the dense-matmul FLOP/s of the same
run comes first and is the reference of every 'mfu' field.

  python launch/benchmark.py --quick                 # ~5 min on 2 CPU cores
  python launch/benchmark.py --sizes=cpu_small --what=sample --repeats=5
  python launch/benchmark.py --what=table --sizes=cpu_small,paper  # issue 13
  python launch/benchmark.py --what=ops --sizes=cpu_small   # per-op time

The GPU check (paper size, bf16 on GPU; < 3 min on one H100-class GPU):
one table plus a JSON file with train steps/s, DDIM sequences/s, both
MFUs and whether data loading would be the bottleneck.

  python launch/benchmark.py --what=gpu_smoke --output=gpu_smoke.json
"""
from absl import flags

from gaitjax import cli

FLAGS = flags.FLAGS
flags.DEFINE_list("sizes", ["paper", "cpu_small"],
                  "Model sizes: paper (configs/default.py in float32), "
                  "cpu_small, tiny.")
flags.DEFINE_enum("what", "all", ["all", "matmul", "pipeline", "train",
                                  "sample", "eval", "profile", "table", "ops",
                                  "gpu_smoke"],
                  "What to measure (the matmul reference always runs). "
                  "table: issue 13's rows (train step, DDIM, K=8 x 4-speed "
                  "generation request) with fractions of the matmul rate; "
                  "ops: per-op time of the train step's gradient, the "
                  "optimiser update and a denoise call. "
                  "gpu_smoke: the short GPU check of one size (default "
                  "paper), a table and --output.")
flags.DEFINE_integer("repeats", 3, "Timed runs per measurement (median); "
                     "gpu_smoke: 20 on GPU/TPU, 3 on CPU unless given.")
flags.DEFINE_integer("ddim_steps", 0, "gpu_smoke: DDIM steps (0 = 100 on "
                     "GPU/TPU, 10 on CPU).")
flags.DEFINE_integer("ddim_batch", 0, "gpu_smoke: sequences per DDIM batch "
                     "(0 = config.sampling.batch_size on GPU/TPU, 16 on CPU).")
flags.DEFINE_string("output", "gpu_smoke.json", "gpu_smoke: the JSON file "
                    "to write ('' = none).")
flags.DEFINE_bool("quick", False, "Short sweep: paper-size DDIM only at "
                  "batch 16 with 10 and 100 steps.")


def main(argv):
  del argv
  from gaitjax import benchmark
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  smoke_only = ("ddim_steps", "ddim_batch", "output")
  for name in smoke_only if FLAGS.what != "gpu_smoke" else ("quick",):
    if FLAGS[name].present:
      raise ConfigError(f"--{name}: not used with --what={FLAGS.what}")
  if FLAGS.what == "gpu_smoke":
    sizes = FLAGS.sizes if FLAGS["sizes"].present else ["paper"]
    if len(sizes) != 1:
      raise ConfigError(f"--sizes: gpu_smoke measures one size, got "
                        f"{','.join(sizes)}")
    benchmark.gpu_smoke(sizes[0], ddim_steps=FLAGS.ddim_steps,
                        ddim_batch=FLAGS.ddim_batch,
                        repeats=FLAGS.repeats if FLAGS["repeats"].present
                        else 0, output=FLAGS.output or None)
    return
  benchmark.run_benchmarks(FLAGS.sizes, FLAGS.what, repeats=FLAGS.repeats,
                           quick=FLAGS.quick)


def run() -> None:
  """The ``gaitjax-benchmark`` console script (launch/benchmark.py runs the same)."""
  cli.run(main)
