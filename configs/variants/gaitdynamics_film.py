r"""Variant: the GaitDynamics transformer details the paper builds on but
does not restate: FiLM on each sublayer's output (before the residual add)
instead of on its LayerNorm'd input, rotary position embeddings instead of
learned absolute positions, no LayerNorm before the head, and an EMA of the
parameters (decay 0.9999, DDPM's value) for evaluation and sampling.

One change (the GaitDynamics backbone), four fields. With an EMA the
training loop validates, ranks the best checkpoint and generates with the
EMA parameters (`load_for_inference(params='auto')`; 'raw' for the others).

  python launch/train.py --config=configs/variants/gaitdynamics_film.py \
      --workdir=runs/variants/gaitdynamics_film --config.data.data_dir=data
"""
from configs import default

CHANGES = ("model.film_placement", "model.pos_embedding", "model.final_norm",
           "train.ema_decay")


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.model.film_placement = "output"
  config.model.pos_embedding = "rotary"
  config.model.final_norm = False
  config.train.ema_decay = 0.9999
  return config


def get_config():
  return apply(default.get_config())
