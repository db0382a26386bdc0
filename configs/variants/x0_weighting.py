r"""Variant: the clean-residual loss terms (residual, identity, subject)
weighted by alpha_t^2.

With eps-prediction r0_hat = (r_t - sigma*eps_hat)/alpha, so the paper's
unweighted residual term is (sigma/alpha)^2 |eps_hat - eps|^2: x2.5e4 at the
linear schedule's last step, x4e8 at the cosine one's. alpha^2 weighting
turns it into sigma^2 |eps_hat - eps|^2 (bounded, but a different objective
from eq. 7). Used by configs/cpu_small.py.

  python launch/train.py --config=configs/variants/x0_weighting.py \
      --workdir=runs/variants/x0_weighting --config.data.data_dir=data
"""
from configs import default

CHANGES = ("loss.x0_weighting",)


def apply(config):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.loss.x0_weighting = "alpha2"
  return config


def get_config():
  return apply(default.get_config())
