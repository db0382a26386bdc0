r"""A very small diffusion model that trains a step in milliseconds (tests).

  python launch/train.py --config=configs/tiny.py --workdir=/tmp/tiny \
      --config.data.data_dir=/tmp/tiny_data

Sequences stay 600 samples long (the data's length); 10-frame tokens and
BiLSTM steps keep the transformer and the LSTM scan short.
"""
from configs import default


def get_config():
  config = default.get_config()
  model = config.model
  model.width = 32
  model.num_layers = 2
  model.num_heads = 2
  model.mlp_dim = 64
  model.dropout = 0.0
  model.patch_size = 10
  model.lstm_patch_size = 10
  model.cond_dim = 16
  model.time_embed_dim = 16
  model.subject_embed_dim = 16
  model.lstm_hidden = 16
  model.speed_hidden = 16
  model.dtype = "float32"
  config.data.num_train_pairs = 0        # fresh pairs each step: no pool
  config.train.batch_size = 4
  config.train.num_steps = 2
  config.train.log_every = 1
  config.train.eval_every = 1
  config.train.checkpoint_every = 1
  config.train.num_val_batches = 1
  config.optim.warmup_steps = 1
  config.sampling.num_steps = 2
  config.sampling.batch_size = 4
  return config
