r"""Ablation: the network predicts the clean residual r0 instead of eps.

  python launch/train.py --config=configs/ablations/target_x0.py \
      --workdir=runs/ablations/target_x0 --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.diffusion.prediction = "x0"
  return config
