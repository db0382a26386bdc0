r"""Ablation: residual over the subject's mean source cycle plus the population
change, tiled at the expected cadence.

  python launch/train.py --config=configs/ablations/reference_template.py \
      --workdir=runs/ablations/reference_template --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.data.reference = "template"
  return config


def get_config():
  return apply(default.get_config())
