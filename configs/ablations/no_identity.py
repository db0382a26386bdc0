r"""Ablation: no identity-preservation loss term.

  python launch/train.py --config=configs/ablations/no_identity.py \
      --workdir=runs/ablations/no_identity --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.loss.lambda_identity = 0.0
  return config


def get_config():
  return apply(default.get_config())
