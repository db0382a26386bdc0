r"""Fine-tune the population prior on a lab's own subjects.

configs/prior/pretrain_population.py's network, started from that run's best
checkpoint (train.init_from), trained on your dataset's training subjects at
a lower learning rate: the prior says how a person's gait predicts their
response to speed; fine-tuning adapts it to your lab's population, angle
conventions and speeds. The normalisation statistics and the reference (the
cycle regression fitted on the prior's 290 synthetic people) are kept from
the prior (train.init_from_stats = 'pretrained'): a lab's handful of people
cannot fit a better regression, and both are offset-free, so a lab's angle
convention does not need them refitted. Measured (README "Models on the real
people"): each of 4 folds of the 8 WBDS adults fine-tuned on 5 + 1 real
people, 1,000 steps, scored on its 2 unseen people: 2.54 deg kept vs 2.77
refitted (no fine-tuning 2.59; template of the other 7 real people 2.62).
With many people of your own, or a population unlike the prior's (stroke
survivors), try --config.train.init_from_stats=finetune (refits both on
your training split).

  python launch/build_data.py --dataset=folder --data_dir=data --manual_dir=my_lab
  python launch/train.py --config=configs/prior/finetune.py --workdir=runs/my_lab \
      --config.train.init_from=runs/prior --config.data.dataset=folder \
      --config.data.data_dir=data
"""
from configs.prior import pretrain_population


def get_config():
  config = pretrain_population.get_config()
  config.data.dataset = "synthetic_able_bodied"
  config.train.init_from_stats = "pretrained"
  config.optim.learning_rate = 2e-4      # [ours] a prior to adapt, not replace
  config.optim.warmup_steps = 100
  config.train.num_steps = 5000
  config.train.max_minutes = 12.0
  config.train.eval_every = 250
  config.train.checkpoint_every = 250
  config.train.num_val_batches = 4
  config.train.log_every = 100
  return config
