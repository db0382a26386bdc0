r"""TCN baseline [P II.G]: one TCN per fixed source speed, conditioned on v_tgt.

  python launch/train.py --config=configs/baselines/tcn.py --workdir=runs/tcn \
      --config.data.data_dir=data

6 TCNs (64 channels, kernel 5, dilations 1..32, non-causal, residual, FiLM
from the target speed; see gaitjax/models/baselines.py).
"""
from configs import default
from configs.baselines import mlp


def get_config():
  config = default.get_config()
  config.model.name = "tcn"
  config.model.tcn_channels = 64                    # [ours]
  config.model.tcn_kernel_size = 5                  # [ours]
  config.model.tcn_dilations = (1, 2, 4, 8, 16, 32)  # [ours] 12.6 s field
  config.model.speed_hidden = 64                    # target-speed embedding
  config.model.dtype = "float32"
  mlp._baseline_data_and_train(config)  # pylint: disable=protected-access
  config.train.num_steps = 400   # slower steps than the MLP: ~3 min on CPU
  return config
