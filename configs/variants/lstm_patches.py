r"""Variant: the subject encoder's BiLSTM steps over 10-frame patches (60
steps instead of the paper's 600 single frames).

Speed option for the paper-size model on CPU (issue 13): the recurrence is
sequential, and at 600 steps its per-step overhead (forward, backward and
the contrastive term's pass over the generated sequence) is a large part of
a train step there; cpu_small and tiny already use 10-frame steps. The
encoder sees the same 30 s of gait; each step's input is 10 frames x 6
channels. A different model (the LSTM's input kernels are [60, H], not
[6, H]), so checkpoints of the paper config do not load into it.

  python launch/train.py --config=configs/variants/lstm_patches.py \
      --workdir=runs/variants/lstm_patches --config.data.data_dir=data
"""
from configs import default

CHANGES = ("model.lstm_patch_size",)


def apply(config, patch_size: int = 10):
  """Makes this variant's change to `config` (in place) and returns it."""
  config.model.lstm_patch_size = patch_size
  return config


def get_config():
  return apply(default.get_config())
