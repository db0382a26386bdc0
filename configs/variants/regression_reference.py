r"""Variant: residual against the cycle regression (data.reference='regression').

The residual reference is the subject's mean cycle and cadence at the target
speed as predicted by ``cycle_regression`` (gaitjax/eval/regression.py: the
template plus an amplitude-scaled population change and PCA-ridge shape and
cadence corrections), fitted on the training split when training starts and
saved with the checkpoint (in place of the template). The diffusion model
then generates only what that regression cannot predict: the personal part
beyond a linear read-out of the source, and stride-to-stride variability.
Worth it with a large training population (configs/prior/): fitted on 13
subjects the regression shrinks to the template. Not in the paper.

  python launch/train.py --config=configs/variants/regression_reference.py \
      --workdir=runs/variants/regression_reference --config.data.data_dir=data
"""
from configs import default

CHANGES = ("data.reference",)


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.data.reference = "regression"
  return config


def get_config():
  return apply(default.get_config())
