r"""Ablation: no subject-preservation (contrastive) loss term.

  python launch/train.py --config=configs/ablations/no_contrastive.py \
      --workdir=runs/ablations/no_contrastive --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.loss.lambda_subject = 0.0
  return config
