r"""Batch generation from a trained checkpoint.

  # all within-subject pairs of the test subjects
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/test \
      --dataset=synthetic_able_bodied --data_dir=data --split=test
  # a folder in the project's folder format, each trial at given speeds
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/lab \
      --folder=/path/to/lab --target_speeds=0.6,1.0,1.4
  # one trial file (or several passes: --trial=a.csv,b.csv or repeated)
  python launch/sample.py --checkpoint=runs/cpu --output_dir=out/p01 \
      --trial=p01_0.8.csv --source_speed=0.8 --target_speeds=0.6,1.0,1.4

Split a job over N workers (e.g. a SLURM array job; all write to the same
--output_dir, and their union equals the unsharded job's outputs)::

  python launch/sample.py ... --num_shards=$SLURM_ARRAY_TASK_COUNT \
      --shard_index=$SLURM_ARRAY_TASK_ID

Under jax.distributed (--coordinator_address/--num_processes/--process_id,
see gaitjax/distributed.py) the shards default to the processes. A rerun of
a shard skips the requests it finished.
"""
from absl import flags

from gaitjax import cli
from gaitjax import distributed

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Training workdir or checkpoint dir.")
flags.DEFINE_string("which", "best", "best | latest | a step number.")
flags.DEFINE_string("output_dir", None, "Where outputs go.")
flags.DEFINE_string("dataset", None, "A built dataset (with --data_dir).")
flags.DEFINE_string("data_dir", "data", "TFDS data_dir of --dataset.")
flags.DEFINE_string("split", "test", "Split of --dataset.")
flags.DEFINE_string("folder", None, "A folder in the project's folder format.")
flags.DEFINE_multi_string(
    "trial", None, "A trial file (.csv, .mot, .npz); repeat the flag or give "
    "a comma list for several passes of one subject at one speed (joined at "
    "matching phase from their whole gait cycles).")
flags.DEFINE_integer("min_cycles", None,
                     "Whole gait cycles per side a source shorter than 30 s "
                     "(or its passes) must hold (default 5).")
flags.DEFINE_float("source_speed", None, "Speed of --trial in m/s.")
flags.DEFINE_string("subject", "subject", "Subject name for --trial.")
flags.DEFINE_enum("cohort", "able_bodied", ["able_bodied", "stroke"],
                  "Cohort of --trial (selects normalisation statistics).")
flags.DEFINE_list("target_speeds", [], "Target speeds in m/s.")
flags.DEFINE_integer("num_samples", 1, "Samples per condition (mean and SD).")
flags.DEFINE_integer("num_steps", None, "DDIM steps (default: config).")
flags.DEFINE_float("eta", None, "DDIM eta (default: config).")
flags.DEFINE_float("temperature", None,
                   "Initial-noise scale (default: config, 1): 0 = one "
                   "deterministic point estimate; bands need 1.")
flags.DEFINE_integer("batch_size", None, "Rows per device call.")
flags.DEFINE_integer("seed", 0, "PRNG seed.")
flags.DEFINE_bool("allow_extrapolation", False,
                  "Accept target speeds outside the training range.")
flags.DEFINE_integer("chunk_size", 64,
                     "Requests per generation call; the unit a job is "
                     "sharded in (seeds follow chunks: keep it fixed for a "
                     "job).")
flags.DEFINE_integer("num_shards", None,
                     "Split the job into this many shards (default: the "
                     "number of processes under jax.distributed, else 1).")
flags.DEFINE_integer("shard_index", None,
                     "Which shard this worker runs, 0..num_shards-1 "
                     "(default: the process index under jax.distributed).")
distributed.define_flags()


def main(argv):
  del argv
  distributed.initialize_from_flags()  # before anything touches JAX
  from gaitjax import sample_job
  sample_job.main_from_flags(FLAGS)


def run() -> None:
  """The ``gaitjax-sample`` console script (launch/sample.py runs the same)."""
  cli.run(main)
