r"""Batch generation from a trained checkpoint.

  # all within-subject pairs of the test subjects
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/test \
      --dataset=synthetic_able_bodied --data_dir=data --split=test
  # a folder in the project's folder format, each trial at given speeds
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/lab \
      --folder=/path/to/lab --target_speeds=0.6,1.0,1.4
  # one trial file
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/p01 \
      --trial=p01_0.8.csv --source_speed=0.8 --target_speeds=0.6,1.0,1.4
"""
import os
import sys

if __name__ == "__main__":  # run as a script: make `gaitjax` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from absl import flags  # noqa: E402

from gaitjax import cli  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Training workdir or checkpoint dir.")
flags.DEFINE_string("which", "best", "best | latest | a step number.")
flags.DEFINE_string("output_dir", None, "Where outputs go.")
flags.DEFINE_string("dataset", None, "A built dataset (with --data_dir).")
flags.DEFINE_string("data_dir", "data", "TFDS data_dir of --dataset.")
flags.DEFINE_string("split", "test", "Split of --dataset.")
flags.DEFINE_string("folder", None, "A folder in the project's folder format.")
flags.DEFINE_string("trial", None, "One trial file (.csv, .mot, .npz).")
flags.DEFINE_float("source_speed", None, "Speed of --trial in m/s.")
flags.DEFINE_string("subject", "subject", "Subject name for --trial.")
flags.DEFINE_enum("cohort", "able_bodied", ["able_bodied", "stroke"],
                  "Cohort of --trial (selects normalisation statistics).")
flags.DEFINE_list("target_speeds", [], "Target speeds in m/s.")
flags.DEFINE_integer("num_samples", 1, "Samples per condition (mean and SD).")
flags.DEFINE_integer("num_steps", None, "DDIM steps (default: config).")
flags.DEFINE_float("eta", None, "DDIM eta (default: config).")
flags.DEFINE_integer("batch_size", None, "Rows per device call.")
flags.DEFINE_integer("seed", 0, "PRNG seed.")
flags.DEFINE_bool("allow_extrapolation", False,
                  "Accept target speeds outside the training range.")


def main(argv):
  del argv
  from gaitjax import sample_job
  sample_job.main_from_flags(FLAGS)


if __name__ == "__main__":
  cli.run(main)
