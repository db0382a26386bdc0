r"""Ablation: residual over x_src time-warped to the expected target cadence
instead of raw x_src.

  python launch/train.py --config=configs/ablations/reference_warped.py \
      --workdir=runs/ablations/reference_warped --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.data.reference = "warped"
  return config


def get_config():
  return apply(default.get_config())
