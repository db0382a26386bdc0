r"""Variant: cosine VP noise schedule (Nichol & Dhariwal 2021) instead of the
paper's linear DDPM schedule, with the DDIM start it needs.

The cosine schedule spreads log-SNR almost evenly over the 1,000 steps (the
linear one has alpha_bar < 1e-3 over its last 17.5 %), but its last step has
alpha = 4.9e-5: with eps-prediction a DDIM start at t = 999 multiplies the
network's eps error by 316 in the first update, so sampling starts at
t = 990 ('leading' spacing). One change, two fields. Used by
configs/cpu_small.py.

  python launch/train.py --config=configs/variants/cosine_schedule.py \
      --workdir=runs/variants/cosine_schedule --config.data.data_dir=data
"""
from configs import default

CHANGES = ("diffusion.schedule", "sampling.timestep_spacing")


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.diffusion.schedule = "cosine"
  config.sampling.timestep_spacing = "leading"
  return config


def get_config():
  return apply(default.get_config())
