r"""configs/cpu_small.py trained for up to an hour on 2 CPU cores.

The step count is what fits in about an hour on 2 cores, so the cosine
learning-rate decay completes; max_minutes caps the wall time.

  python launch/train.py --config=configs/cpu_long.py --workdir=runs/cpu_long \
      --config.data.data_dir=data
"""
from configs import cpu_small


def get_config():
  config = cpu_small.get_config()
  config.train.num_steps = 16_000
  config.train.max_minutes = 60.0
  config.train.eval_every = 1000
  config.train.checkpoint_every = 1000
  config.train.num_val_batches = 8
  config.train.log_every = 200
  return config
