r"""Ablation: no identity-preservation loss term.

  python launch/train.py --config=configs/ablations/no_identity.py \
      --workdir=runs/ablations/no_identity --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.loss.lambda_identity = 0.0
  return config
