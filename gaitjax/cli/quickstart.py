r"""Train, generate, evaluate and report on the synthetic default, in one go.

  python launch/quickstart.py --workdir=runs/quickstart       # 10-15 min, 2 cores
  python launch/quickstart.py --workdir=/tmp/qs --smoke       # ~1 min check

A rerun reuses every finished stage (datasets, trained models).
"""
from absl import flags
from absl import logging

from gaitjax import cli

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart",
                               "Where data, models and the report go.")
_SMOKE = flags.DEFINE_bool("smoke", False,
                           "Shrink every stage to about a minute (CI).")
_MINUTES = flags.DEFINE_float("diffusion_minutes", None,
                              "Training budget of the diffusion model.")


def main(argv):
  if len(argv) > 1:
    cli.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  import dataclasses
  from gaitjax import quickstart
  logging.set_verbosity(logging.INFO)
  settings = quickstart.SMOKE if _SMOKE.value else quickstart.QuickstartSettings()
  if _MINUTES.value is not None:
    settings = dataclasses.replace(settings, diffusion_minutes=_MINUTES.value)
  table = quickstart.run(_WORKDIR.value, settings)
  print(table)


def run() -> None:
  """The ``gaitjax-quickstart`` console script (launch/quickstart.py runs the same)."""
  cli.run(main)
