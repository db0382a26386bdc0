r"""Ablation: no BiLSTM subject encoder; speeds alone condition the denoiser
(also drops the subject loss, which needs the encoder).

  python launch/train.py --config=configs/ablations/no_subject_encoder.py \
      --workdir=runs/ablations/no_subject_encoder --config.data.data_dir=data
"""
from configs import default


def apply(config):
  """Makes this file's one change to `config` (in place) and returns it."""
  config.model.use_subject_encoder = False
  return config


def get_config():
  return apply(default.get_config())
