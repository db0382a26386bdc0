r"""Ablation: the network predicts v = alpha*eps - sigma*r0 instead of eps.

  python launch/train.py --config=configs/ablations/target_v.py \
      --workdir=runs/ablations/target_v --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.diffusion.prediction = "v"
  return config


def get_config():
  return apply(default.get_config())
