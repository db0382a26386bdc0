r"""Ablation: the network predicts the clean residual r0 instead of eps.

  python launch/train.py --config=configs/ablations/target_x0.py \
      --workdir=runs/ablations/target_x0 --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.diffusion.prediction = "x0"
  return config


def get_config():
  return apply(default.get_config())
