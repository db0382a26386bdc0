r"""Ablation: no subject-preservation (contrastive) loss term.

  python launch/train.py --config=configs/ablations/no_contrastive.py \
      --workdir=runs/ablations/no_contrastive --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.loss.lambda_subject = 0.0
  return config


def get_config():
  return apply(default.get_config())
