r"""Variant: offset-free network inputs (model.center_inputs = True).

The denoiser and the subject encoder see each input sequence minus its own
per-channel time mean. A constant per-channel offset on the source (static
zeroing, marker placement, OpenSim IK vs 2D marker angles) then leaves the
generated residual unchanged, and the output moves by exactly that offset:
what the model says about shape and speed response cannot depend on a lab's
angle convention. Not in the paper. Used by configs/cpu_small.py (and so by
the quickstart and configs/prior/pretrain_population.py).

  python launch/train.py --config=configs/variants/center_inputs.py \
      --workdir=runs/variants/center_inputs --config.data.data_dir=data
"""
from configs import default

CHANGES = ("model.center_inputs",)


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.model.center_inputs = True
  return config


def get_config():
  return apply(default.get_config())
