r"""Ablation: residual over the subject's mean source cycle plus the population
change, tiled at the expected cadence.

  python launch/train.py --config=configs/ablations/reference_template.py \
      --workdir=runs/ablations/reference_template --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.data.reference = "template"
  return config
