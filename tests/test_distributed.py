"""gaitjax/distributed.py: which launch settings are refused, before JAX's
multi-process runtime is touched (the 2-process runs themselves are in
test_multiprocess.py)."""
import subprocess
import sys

import pytest

from gaitjax import distributed
from gaitjax.errors import ConfigError
import conftest


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
  for name in (distributed.NUM_PROCESSES_ENV, distributed.PROCESS_ID_ENV,
               distributed.COORDINATOR_ENV):
    monkeypatch.delenv(name, raising=False)


def test_single_process_does_nothing():
  assert not distributed.is_initialized()
  assert distributed.initialize() is False
  assert distributed.initialize(num_processes=1, process_id=0) is False
  assert not distributed.is_initialized()


@pytest.mark.parametrize("kwargs, env, match", [
    (dict(num_processes=2), {}, "--process_id=None"),
    (dict(num_processes=2, process_id=2), {}, "expected 0..1"),
    (dict(num_processes=2, process_id=0), {}, "needs --coordinator_address"),
    (dict(num_processes=0), {}, "expected >= 1"),
    ({}, {distributed.NUM_PROCESSES_ENV: "two"}, "expected an integer"),
    ({}, {distributed.NUM_PROCESSES_ENV: "2",
          distributed.PROCESS_ID_ENV: "0"}, "needs --coordinator_address"),
])
def test_bad_settings_are_one_line_config_errors(monkeypatch, kwargs, env,
                                                 match):
  for k, v in env.items():
    monkeypatch.setenv(k, v)
  with pytest.raises(ConfigError, match=match) as e:
    distributed.initialize(**kwargs)
  assert "\n" not in str(e.value)
  assert not distributed.is_initialized()


def test_launch_train_bad_process_flags_exit_2(tmp_path):
  proc = subprocess.run(
      [sys.executable, str(conftest.REPO_ROOT / "launch" / "train.py"),
       "--config=configs/tiny.py", f"--workdir={tmp_path}",
       "--num_processes=2", "--process_id=0"],
      capture_output=True, text=True, env=conftest.subprocess_env(),
      cwd=str(conftest.REPO_ROOT), timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert lines == ["error: --num_processes=2 needs --coordinator_address="
                   "host:port (or $JAX_COORDINATOR_ADDRESS)"], proc.stderr
