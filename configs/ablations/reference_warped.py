r"""Ablation: residual over x_src time-warped to the expected target cadence
instead of raw x_src.

  python launch/train.py --config=configs/ablations/reference_warped.py \
      --workdir=runs/ablations/reference_warped --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.data.reference = "warped"
  return config
