"""Config validation, JSON round trip, and the experiment config files."""
import importlib
import os
import pathlib
import subprocess
import sys

import ml_collections
import pytest

from configs import cpu_long, cpu_small, default, tiny
from gaitjax import config_utils
from gaitjax.errors import ConfigError

REPO = pathlib.Path(__file__).resolve().parents[1]
ABLATIONS = sorted(p.stem for p in (REPO / "configs" / "ablations").glob("*.py")
                   if p.stem != "__init__")
VARIANTS = sorted(p.stem for p in (REPO / "configs" / "variants").glob("*.py")
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
                                        cpu_long.get_config,
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


# ------------------------------------------------- the paper, and our variants


def test_default_is_the_paper_as_written():
  c = default.get_config()
  paper = {
      "diffusion.schedule": "linear", "diffusion.num_timesteps": 1000,
      "diffusion.prediction": "eps", "diffusion.residual": True,
      "loss.x0_weighting": "none", "loss.knee_weight": 2.0,
      "loss.identity_threshold_mps": 0.1, "data.reference": "source",
      "optim.learning_rate": 5e-4, "optim.weight_decay": 1e-3,
      "optim.grad_clip_norm": 1.0, "optim.schedule": "constant",
      "optim.warmup_steps": 0, "train.batch_size": 16,
      "train.ema_decay": 0.0, "model.dtype": "bfloat16",
      "model.num_layers": 4, "model.cond_dim": 64,
      "model.time_embed_dim": 128, "model.patch_size": 1,
      "sampling.num_steps": 100, "sampling.timestep_spacing": "trailing",
      "sampling.eta": 0.0, "data.seq_len": 600, "data.swap_sides_prob": 0.0,
      "data.num_train_pairs": 100_000}
  flat = _flat(c.to_dict())
  assert {k: flat[k] for k in paper} == paper


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_changes_exactly_its_declared_fields(name):
  module = importlib.import_module(f"configs.variants.{name}")
  config = module.get_config()
  config_utils.validate_config(config, num_devices=2)
  base, new = _flat(default.get_config().to_dict()), _flat(config.to_dict())
  changed = {k for k in base if base[k] != new[k]}
  assert set(base) == set(new)
  assert changed == set(module.CHANGES) and 1 <= len(module.CHANGES) <= 4
  assert f"--config=configs/variants/{name}.py" in module.__doc__
  # apply() is what cpu_small uses: same result on a fresh default.
  assert module.apply(default.get_config()).to_dict() == config.to_dict()


def test_the_variants_exist():
  assert set(VARIANTS) >= {"cosine_schedule", "x0_weighting", "lr_cosine",
                           "gaitdynamics_film", "swap_sides"}


def test_ablations_apply_matches_get_config():
  for name in ABLATIONS:
    module = importlib.import_module(f"configs.ablations.{name}")
    assert (module.apply(default.get_config()).to_dict()
            == module.get_config().to_dict()), name


# What configs/cpu_small.py trains with: the model of the README's quality
# tables. Changing any of these changes those numbers.
CPU_SMALL_TRAINING = {
    "diffusion.schedule": "cosine", "sampling.timestep_spacing": "leading",
    "loss.x0_weighting": "alpha2", "optim.schedule": "cosine",
    "optim.warmup_steps": 200, "optim.learning_rate": 5e-4,
    "data.swap_sides_prob": 0.5, "data.reference": "template",
    "data.reference_timing": "target", "diffusion.prediction": "v",
    "loss.lambda_identity": 0.0, "loss.lambda_subject": 0.1,
    "loss.lambda_residual": 1.0, "loss.knee_weight": 2.0,
    "loss.dv_scale_mps": 0.5, "loss.residual_floor": 0.25,
    "data.pair_fractions": (1 / 3, 1 / 3, 1 / 3),
    "data.num_train_pairs": 100_000, "model.width": 128,
    "model.num_layers": 2, "model.mlp_dim": 256, "model.dropout": 0.0,
    "model.patch_size": 10, "model.lstm_patch_size": 10,
    "model.dtype": "float32", "model.film_placement": "input",
    "model.pos_embedding": "learned", "model.final_norm": True,
    "train.ema_decay": 0.0, "train.batch_size": 32,
    "train.num_steps": 4000, "sampling.num_steps": 50,
    "model.center_inputs": True}


def test_cpu_small_trains_as_before_and_names_its_variants():
  flat = _flat(cpu_small.get_config().to_dict())
  assert {k: flat[k] for k in CPU_SMALL_TRAINING} == CPU_SMALL_TRAINING
  doc = cpu_small.__doc__
  used = {"variants": ("cosine_schedule", "x0_weighting", "lr_cosine",
                       "swap_sides", "center_inputs"),
          "ablations": ("reference_template", "target_v", "no_identity")}
  for folder, names in used.items():
    for name in names:
      assert f"configs/{folder}/{name}.py" in doc, name
      module = importlib.import_module(f"configs.{folder}.{name}")
      fields = getattr(module, "CHANGES", None) or _changed(module)
      for field in fields:
        if field != "optim.warmup_steps":       # 200 on CPU (lr_cosine arg)
          assert flat[field] == _flat(module.get_config().to_dict())[field]
  assert _flat(cpu_long.get_config().to_dict())["diffusion.schedule"] == \
      "cosine"


def _changed(module):
  base, new = _flat(default.get_config().to_dict()), \
      _flat(module.get_config().to_dict())
  return [k for k in base if base[k] != new[k]]


def test_removed_split_keys_are_unknown_keys():
  """The subject split is fixed when the data are built; the old
  data.num_*_subjects / split_seed keys are gone, so an override is an
  unknown-key error rather than a silent no-op."""
  config = default.get_config()
  for key in ("num_train_subjects", "num_val_subjects", "num_test_subjects",
              "split_seed"):
    assert key not in config.data
  config.lock()                      # as launch/train.py loads it
  with pytest.raises(AttributeError):
    config.data.num_train_subjects = 3
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  proc = subprocess.run(
      [sys.executable, str(REPO / "launch" / "train.py"),
       "--config=configs/default.py", "--workdir=/tmp/gaitjax_never_used",
       "--config.data.num_train_subjects=3"],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2, proc.stderr[-500:]
  last = proc.stderr.strip().splitlines()[-1]
  assert "unknown config key" in last and "num_train_subjects" in last


@pytest.mark.parametrize("field, value, message", [
    ("data.reference_timing", "oracle", "config.data.reference_timing"),
    ("sampling.timestep_spacing", "middle",
     "config.sampling.timestep_spacing"),
    ("model.film_placement", "both", "config.model.film_placement"),
    ("model.pos_embedding", "alibi", "config.model.pos_embedding"),
    ("loss.x0_weighting", "snr", "config.loss.x0_weighting"),
    ("train.ema_decay", 1.0, "config.train.ema_decay"),
])
def test_new_fields_are_validated(field, value, message):
  config = default.get_config()
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(ConfigError, match=message):
    config_utils.validate_config(config, num_devices=2)
