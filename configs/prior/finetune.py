r"""Fine-tune the population prior on a lab's own subjects.

configs/prior/pretrain_population.py's network, started from that run's best
checkpoint (train.init_from), trained on your dataset's training subjects at
a lower learning rate: the prior says how a person's gait predicts their
response to speed; fine-tuning adapts it to your lab's population, angle
conventions and speeds. Normalisation statistics and the reference (cycle
template, or the cycle regression the prior uses) are refitted on your dataset
(train.init_from_stats = 'finetune').

  python launch/build_data.py --dataset=folder --data_dir=data --manual_dir=my_lab
  python launch/train.py --config=configs/prior/finetune.py --workdir=runs/my_lab \
      --config.train.init_from=runs/prior --config.data.dataset=folder \
      --config.data.data_dir=data
"""
from configs.prior import pretrain_population


def get_config():
  config = pretrain_population.get_config()
  config.data.dataset = "synthetic_able_bodied"
  config.optim.learning_rate = 2e-4      # [ours] a prior to adapt, not replace
  config.optim.warmup_steps = 100
  config.train.num_steps = 5000
  config.train.max_minutes = 12.0
  config.train.eval_every = 250
  config.train.checkpoint_every = 250
  config.train.num_val_batches = 4
  config.train.log_every = 100
  return config
