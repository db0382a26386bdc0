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


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
  """../shared/data (real fixtures); tests skip when it is absent."""
  if not SHARED_DATA.is_dir():
    pytest.skip(f"real-data fixtures not found at {SHARED_DATA}")
  return SHARED_DATA
