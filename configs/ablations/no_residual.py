r"""Ablation: diffuse x_tgt itself instead of the residual x_tgt - x_ref (paper
II.D).

  python launch/train.py --config=configs/ablations/no_residual.py \
      --workdir=runs/ablations/no_residual --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.diffusion.residual = False
  return config


def get_config():
  return apply(default.get_config())
