r"""Variant: left/right swap augmentation of training pairs (probability 0.5).

Each training pair's source, target and reference have their left and right
channels exchanged together, doubling the apparent subjects' asymmetries.
Not in the paper. Used by configs/cpu_small.py.

  python launch/train.py --config=configs/variants/swap_sides.py \
      --workdir=runs/variants/swap_sides --config.data.data_dir=data
"""
from configs import default

CHANGES = ("data.swap_sides_prob",)


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.data.swap_sides_prob = 0.5
  return config


def get_config():
  return apply(default.get_config())
