r"""Ablation: conditioning added to the denoiser input instead of FiLM in every
block.

  python launch/train.py --config=configs/ablations/no_film.py \
      --workdir=runs/ablations/no_film --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.model.use_film = False
  return config
