r"""Ablation: the network predicts v = alpha*eps - sigma*r0 instead of eps.

  python launch/train.py --config=configs/ablations/target_v.py \
      --workdir=runs/ablations/target_v --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.diffusion.prediction = "v"
  return config
