r"""Ablation: equal weight of every joint in the noise loss (the paper weights
the knee x2).

  python launch/train.py --config=configs/ablations/uniform_joint_weights.py \
      --workdir=runs/ablations/uniform_joint_weights --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.loss.knee_weight = 1.0
  return config


def get_config():
  return apply(default.get_config())
