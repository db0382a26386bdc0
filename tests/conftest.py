"""Test-session setup: two fake CPU devices, fast compiles, shared fixtures.

The device count must be set before JAX initialises, so it happens here at
import (the one mechanism, see ../shared/JAX_NOTES.md); no test module may
call chex.set_n_cpu_devices.
"""
import os
import pathlib
import sys

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
  sys.path.insert(0, str(REPO_ROOT))

# Tests are dominated by XLA compile time, not run time.
jax.config.update("jax_disable_most_optimizations", True)
_CACHE = os.environ.get("GAITJAX_TEST_COMPILATION_CACHE",
                        str(pathlib.Path.home() / ".cache" / "gaitjax_jax_tests"))
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def subprocess_env():
  """Environment for launch/*.py subprocesses: 2 fake CPU devices, the test
  session's fast-compile settings and its compilation cache."""
  env = dict(os.environ)
  env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
  env["JAX_PLATFORMS"] = "cpu"
  env["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"
  env["PYTHONPATH"] = str(REPO_ROOT)
  env.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
  env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
  return env


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
  """../shared/data (real fixtures); tests skip when it is absent."""
  if not SHARED_DATA.is_dir():
    pytest.skip(f"real-data fixtures not found at {SHARED_DATA}")
  return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> pathlib.Path:
  """A small synthetic build: 5 subjects x 4 speeds, plus a stroke cohort."""
  from gaitjax.data import tfds_builders
  data_dir = tmp_path_factory.mktemp("tiny_data")
  tfds_builders.build(tfds_builders.ALL_SYNTHETIC, data_dir, num_subjects=5,
                      speeds=(0.6, 0.8, 1.0, 1.2))
  return data_dir


def tiny_config(data_dir):
  """configs/tiny.py pointed at data_dir (2 training steps)."""
  from configs import tiny
  config = tiny.get_config()
  config.data.data_dir = str(data_dir)
  config.data.reference = "template"
  config.diffusion.prediction = "v"
  return config


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_data_dir, tmp_path_factory) -> pathlib.Path:
  """A workdir with a 2-step configs/tiny.py checkpoint on tiny_data_dir."""
  from gaitjax.train import loop
  workdir = tmp_path_factory.mktemp("tiny_run")
  loop.train_and_evaluate(tiny_config(tiny_data_dir), str(workdir))
  return workdir
