r"""Ablation: equal weight of every joint in the noise loss (the paper weights
the knee x2).

  python launch/train.py --config=configs/ablations/uniform_joint_weights.py \
      --workdir=runs/ablations/uniform_joint_weights --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.loss.knee_weight = 1.0
  return config
