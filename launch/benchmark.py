r"""Speed of the data pipeline, train step, DDIM sampler and evaluation.

Prints one JSON line per measurement; the dense-matmul FLOP/s of the same
run comes first and is the reference of every 'mfu' field.

  python launch/benchmark.py --quick                 # ~5 min on 2 CPU cores
  python launch/benchmark.py --sizes=cpu_small --what=sample --repeats=5
"""
import os
import sys

if __name__ == "__main__":  # run as a script: make `gaitjax` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from absl import flags  # noqa: E402

from gaitjax import cli  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("sizes", ["paper", "cpu_small"],
                  "Model sizes: paper (configs/default.py in float32), "
                  "cpu_small, tiny.")
flags.DEFINE_enum("what", "all", ["all", "matmul", "pipeline", "train",
                                  "sample", "eval", "profile"],
                  "What to measure (the matmul reference always runs).")
flags.DEFINE_integer("repeats", 3, "Timed runs per measurement (median).")
flags.DEFINE_bool("quick", False, "Short sweep: paper-size DDIM only at "
                  "batch 16 with 10 and 100 steps.")


def main(argv):
  del argv
  from gaitjax import benchmark
  benchmark.run_benchmarks(FLAGS.sizes, FLAGS.what, repeats=FLAGS.repeats,
                           quick=FLAGS.quick)


if __name__ == "__main__":
  cli.run(main)
