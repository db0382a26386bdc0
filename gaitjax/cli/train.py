r"""Trains a model (diffusion or a baseline) and checkpoints it.

  python launch/train.py --config=configs/cpu_small.py --workdir=runs/cpu \
      --config.data.data_dir=data

Re-running the same command resumes from the workdir's latest checkpoint.

Several processes (hosts): run the same command in every process, adding
``--coordinator_address=<process 0's host>:<port> --num_processes=N
--process_id=i`` (or the environment variables of gaitjax/distributed.py);
on SLURM, Open MPI or a TPU pod ``--config.train.num_hosts=N`` alone is
enough. On one machine, for testing (each process one CPU device)::

  for i in 0 1; do JAX_PLATFORMS=cpu python launch/train.py \
      --config=configs/tiny.py --workdir=/tmp/mp --num_processes=2 \
      --process_id=$i --coordinator_address=127.0.0.1:12355 & done; wait

Fine-tune another run's best checkpoint on your own data (parameters only:
step 0, fresh optimiser; statistics and template from the new dataset)::

  python launch/train.py --config=configs/cpu_small.py --workdir=runs/lab \
      --config.data.dataset=folder --config.data.data_dir=data \
      --config.train.init_from=runs/cpu
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from gaitjax import cli
from gaitjax import distributed

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file (e.g. configs/default.py).",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None,
                               "Where checkpoints and logs go.")
flags.mark_flags_as_required(["config", "workdir"])
distributed.define_flags()


def main(argv):
  if len(argv) > 1:
    cli.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  config = _CONFIG.value
  try:  # config_flags defers a config file's load error to first use
    config.get("train")
  except (OSError, ImportError, SyntaxError, AttributeError) as e:
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    cli.fail(f"--config: {lines[-1] if lines else type(e).__name__}")
  # Before anything touches JAX's devices.
  distributed.initialize_from_flags()
  from gaitjax.train import loop  # pylint: disable=g-import-not-at-top
  final = loop.train_and_evaluate(config, _WORKDIR.value)
  logging.info("done: %s", ", ".join(f"{k} = {v:.6g}"
                                     for k, v in sorted(final.items())))


def run() -> None:
  """The ``gaitjax-train`` console script (launch/train.py runs the same)."""
  cli.run(main)
