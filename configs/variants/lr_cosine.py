r"""Variant: linear learning-rate warmup (500 steps) then cosine decay to 0
over train.num_steps, instead of the paper's constant AdamW 5e-4.

Warmup protects the first Adam steps (second-moment estimates of a few
batches); the decay lets a fixed step budget end at a low-noise optimum.
Used by configs/cpu_small.py (with 200 warmup steps there).

  python launch/train.py --config=configs/variants/lr_cosine.py \
      --workdir=runs/variants/lr_cosine --config.data.data_dir=data
"""
from configs import default

CHANGES = ("optim.schedule", "optim.warmup_steps")


def apply(config, warmup_steps: int = 500):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.optim.schedule = "cosine"
  config.optim.warmup_steps = int(warmup_steps)
  return config


def get_config():
  return apply(default.get_config())
