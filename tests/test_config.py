"""Config validation, JSON round trip, and the experiment config files."""
import importlib
import pathlib

import pytest

from configs import cpu_small, default, tiny
from gaitjax import config_utils
from gaitjax.errors import ConfigError

REPO = pathlib.Path(__file__).resolve().parents[1]
ABLATIONS = sorted(p.stem for p in (REPO / "configs" / "ablations").glob("*.py")
                   if p.stem != "__init__")


def _flat(d, prefix=""):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f"{prefix}{k}."))
    else:
      out[prefix + k] = v
  return out


@pytest.mark.parametrize("get_config", [default.get_config,
                                        cpu_small.get_config,
                                        tiny.get_config])
def test_shipped_configs_validate(get_config):
  config_utils.validate_config(get_config(), num_devices=2)


@pytest.mark.parametrize("field, value, message", [
    ("data.reference", "nearest", "config.data.reference must be one of"),
    ("diffusion.prediction", "score", "config.diffusion.prediction"),
    ("diffusion.schedule", "sigmoid", "config.diffusion.schedule"),
    ("model.name", "unet", "config.model.name"),
    ("model.width", -8, "config.model.width must be a positive integer"),
    ("model.num_heads", 3, "config.model.width=256 must be divisible by "
     "config.model.num_heads=3"),
    ("model.patch_size", 7, "config.data.seq_len=600 must be divisible by "
     "config.model.patch_size=7"),
    ("model.lstm_patch_size", 7, "lstm_patch_size=7"),
    ("model.dropout", 1.0, "config.model.dropout"),
    ("model.dtype", "float64", "config.model.dtype"),
    ("train.batch_size", 15, "batch_size=15 must be divisible by the number"
     " of devices \\(2\\)"),
    ("train.num_steps", 0, "config.train.num_steps"),
    ("train.max_minutes", -1.0, "config.train.max_minutes"),
    ("optim.learning_rate", 0.0, "config.optim.learning_rate"),
    ("optim.schedule", "step", "config.optim.schedule"),
    ("sampling.num_steps", 2000, "sampling.num_steps=2000 must be <="),
    ("data.pair_fractions", (0.5, 0.5), "config.data.pair_fractions"),
    ("data.swap_sides_prob", 2.0, "config.data.swap_sides_prob"),
])
def test_bad_values_are_one_line_config_errors(field, value, message):
  config = default.get_config()
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(ConfigError, match=message) as e:
    config_utils.validate_config(config, num_devices=2)
  assert "\n" not in str(e.value)


def test_missing_field_is_named():
  config = default.get_config()
  del config.train["log_every"]
  with pytest.raises(ConfigError, match="config.train.log_every is missing"):
    config_utils.validate_config(config, num_devices=1)


def test_baselines_skip_transformer_checks():
  config = default.get_config()
  config.model.name = "mlp"
  config.model.num_heads = 3  # irrelevant to the MLP
  config_utils.validate_config(config, num_devices=1)


def test_json_round_trip_keeps_tuples():
  config = default.get_config()
  back = config_utils.config_from_dict(config_utils.config_to_dict(config))
  assert back.to_dict() == config.to_dict()
  assert isinstance(back.data.pair_fractions, tuple)


@pytest.mark.parametrize("name", ABLATIONS)
def test_ablation_changes_exactly_one_field(name):
  module = importlib.import_module(f"configs.ablations.{name}")
  config = module.get_config()
  config_utils.validate_config(config, num_devices=2)
  base, new = _flat(default.get_config().to_dict()), _flat(config.to_dict())
  changed = [k for k in base if base[k] != new[k]]
  assert len(changed) == 1 and set(base) == set(new), changed
  assert f"--config=configs/ablations/{name}.py" in module.__doc__


def test_all_ten_ablations_exist():
  assert set(ABLATIONS) == {
      "no_residual", "no_subject_encoder", "no_contrastive", "no_identity",
      "uniform_joint_weights", "no_film", "target_v", "target_x0",
      "reference_warped", "reference_template"}
