r"""Ablation: conditioning added to the denoiser input instead of FiLM in every
block.

  python launch/train.py --config=configs/ablations/no_film.py \
      --workdir=runs/ablations/no_film --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.model.use_film = False
  return config


def get_config():
  return apply(default.get_config())
