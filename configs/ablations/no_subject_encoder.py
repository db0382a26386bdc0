r"""Ablation: no BiLSTM subject encoder; speeds alone condition the denoiser
(also drops the subject loss, which needs the encoder).

  python launch/train.py --config=configs/ablations/no_subject_encoder.py \
      --workdir=runs/ablations/no_subject_encoder --config.data.data_dir=data
"""
from configs import default


def get_config():
  config = default.get_config()
  config.model.use_subject_encoder = False
  return config
