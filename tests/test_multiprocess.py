"""Two processes on one machine: JAX's multi-process runtime on CPU.

launch/train.py and launch/sample.py run as 2 processes x 1 CPU device each
(a coordinator on 127.0.0.1, gloo collectives) and are compared with one
process x 2 devices (the test session's own devices, conftest.py):

* the parameters after a few steps are equal (1e-5);
* one checkpoint per saved step (not one per process), no partial step
  folder, readable by Generator;
* kill -9 of both processes, relaunch: resumes from the last checkpoint and
  ends equal to the uninterrupted 2-process run;
* sample.py under jax.distributed splits the job between the processes; the
  union equals the 1-process job's outputs.

Marked ``multiprocess`` and left out of the default run (about 4.5 minutes
on 2 busy cores: every launch compiles the tiny model again in 2 processes).
Run them with ``python -m pytest -m multiprocess tests/test_multiprocess.py``
(or GAITJAX_MULTIPROCESS_TESTS=1).
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from typing import List

import jax
import numpy as np
import pytest

from gaitjax.train import checkpoint as ckpt_lib
from gaitjax.train import loop
import conftest

# Skipped (before any fixture is built) unless asked for.
pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(
        "'multiprocess' not in (config.getoption('markexpr') or '') and "
        "not os.environ.get('GAITJAX_MULTIPROCESS_TESTS')",
        reason="2-process tests: run with -m multiprocess"),
]

REPO = pathlib.Path(__file__).resolve().parents[1]
NUM_STEPS = 12
TRAIN_OVERRIDES = {"train.num_steps": NUM_STEPS, "train.checkpoint_every": 4,
                   "train.eval_every": 4, "train.log_every": 4}
_TIMEOUT_S = 300


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env() -> dict:
  env = conftest.subprocess_env()
  env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
  return env


def _config(data_dir):
  config = conftest.tiny_config(data_dir)
  for key, value in TRAIN_OVERRIDES.items():
    section, field = key.split(".")
    config[section][field] = value
  return config


def _train_flags(workdir, data_dir) -> List[str]:
  config = conftest.tiny_config(data_dir)
  flags = ["--config=configs/tiny.py", f"--workdir={workdir}",
           f"--config.data.data_dir={data_dir}",
           f"--config.data.reference={config.data.reference}",
           f"--config.diffusion.prediction={config.diffusion.prediction}"]
  return flags + [f"--config.{k}={v}" for k, v in TRAIN_OVERRIDES.items()]


def _start(script: str, args: List[str], log_prefix: pathlib.Path,
           num_processes: int = 2) -> List[subprocess.Popen]:
  """num_processes copies of launch/<script>.py joined by a coordinator."""
  port = _free_port()
  procs = []
  for i in range(num_processes):
    cmd = [sys.executable, str(REPO / "launch" / f"{script}.py"), *args,
           f"--coordinator_address=127.0.0.1:{port}",
           f"--num_processes={num_processes}", f"--process_id={i}"]
    with open(f"{log_prefix}.{i}.log", "wb") as f:
      procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                    env=_env(), cwd=str(REPO)))
  return procs


def _finish(procs, log_prefix) -> List[str]:
  logs = []
  try:
    for i, p in enumerate(procs):
      rc = p.wait(timeout=_TIMEOUT_S)
      log = pathlib.Path(f"{log_prefix}.{i}.log").read_text(errors="replace")
      assert rc == 0, f"process {i} exited {rc}:\n{log[-3000:]}"
      assert "Traceback" not in log, log[-3000:]
      logs.append(log)
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  return logs


def _step_dirs(ckpt_dir: pathlib.Path) -> List[int]:
  if not ckpt_dir.is_dir():
    return []
  return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit())


def _assert_params_close(a, b, atol=1e-5):
  flat_a = jax.tree_util.tree_flatten_with_path(a)[0]
  flat_b = jax.tree_util.tree_flatten_with_path(b)[0]
  assert [p for p, _ in flat_a] == [p for p, _ in flat_b]
  for (path, x), (_, y) in zip(flat_a, flat_b):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol,
                               rtol=0, err_msg=jax.tree_util.keystr(path))


def _metrics(workdir):
  rows = [json.loads(l) for l in
          (workdir / "metrics.jsonl").read_text().splitlines()]
  return [{k: v for k, v in r.items() if k != "steps_per_s"} for r in rows]


@pytest.fixture(scope="module")
def two_process_run(tiny_data_dir, tmp_path_factory):
  """An uninterrupted 2-process x 1-device run of NUM_STEPS steps."""
  root = tmp_path_factory.mktemp("mp")
  workdir = root / "run"
  t0 = time.monotonic()
  logs = _finish(_start("train", _train_flags(workdir, tiny_data_dir),
                        root / "run"), root / "run")
  print(f"2-process training: {time.monotonic() - t0:.1f} s")
  return workdir, logs


def test_two_processes_equal_one_process_two_devices(two_process_run,
                                                     tiny_data_dir, tmp_path):
  workdir, logs = two_process_run
  assert all("1 device(s)" not in l for l in logs)
  assert "2 device(s) in 2 process(es)" in logs[0]
  assert jax.local_device_count() == 2  # conftest: 1 process x 2 devices
  single = tmp_path / "single"
  loop.train_and_evaluate(_config(tiny_data_dir), str(single))
  a = ckpt_lib.load_for_inference(workdir, "latest")
  b = ckpt_lib.load_for_inference(single, "latest")
  assert a.step == b.step == NUM_STEPS
  _assert_params_close(a.params, b.params, atol=1e-5)
  ma, mb = _metrics(workdir), _metrics(single)
  assert [r["step"] for r in ma] == [r["step"] for r in mb]
  for ra, rb in zip(ma, mb):
    for k in ra:
      np.testing.assert_allclose(ra[k], rb[k], rtol=1e-4, atol=1e-5,
                                 err_msg=k)


def test_one_checkpoint_per_step_readable_by_generator(two_process_run,
                                                       tiny_data_dir):
  from gaitjax.data import dataset as dataset_lib
  from gaitjax.generate import Generator
  workdir, _ = two_process_run
  ckpts = workdir / ckpt_lib.CHECKPOINT_DIR
  # Only finished step folders (no '<n>.orbax-checkpoint-tmp', nothing
  # per process); the latest (and best) survive.
  assert sorted(p.name for p in ckpts.iterdir()) == [
      str(s) for s in _step_dirs(ckpts)]
  assert _step_dirs(ckpts)[-1] == NUM_STEPS
  for s in _step_dirs(ckpts):
    assert (ckpts / str(s) / "commit_success.txt").is_file() or \
        (ckpts / str(s) / "_CHECKPOINT_METADATA").is_file()
  gen = Generator(str(workdir), "latest", num_steps=2)
  assert gen.step == NUM_STEPS
  ts = dataset_lib.load_split(tiny_data_dir, "synthetic_able_bodied", "test")
  out = gen.generate(ts.x[0], v_src=float(ts.speed[0]), v_tgt=[0.8])
  assert np.all(np.isfinite(out.mean))
  assert (workdir / "config.json").is_file()
  # metrics.jsonl is written by process 0 alone: one line per logged step.
  steps = [r["step"] for r in _metrics(workdir)]
  assert steps == sorted(set(steps))


def test_kill9_both_processes_then_resume(two_process_run, tiny_data_dir,
                                          tmp_path):
  ref_dir, _ = two_process_run
  workdir = tmp_path / "killed"
  ckpts = workdir / ckpt_lib.CHECKPOINT_DIR
  procs = _start("train", _train_flags(workdir, tiny_data_dir),
                 tmp_path / "victim")
  try:
    deadline = time.monotonic() + _TIMEOUT_S
    while not _step_dirs(ckpts):
      assert all(p.poll() is None for p in procs), (
          "a process exited before the first checkpoint:\n" +
          (tmp_path / "victim.0.log").read_text()[-3000:])
      assert time.monotonic() < deadline, "no checkpoint in time"
      time.sleep(0.01)
    for p in procs:
      assert p.poll() is None, "finished before the kill; needs more steps"
      os.kill(p.pid, signal.SIGKILL)
    for p in procs:
      p.wait(timeout=30)
      assert p.returncode == -signal.SIGKILL
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  at_kill = _step_dirs(ckpts)
  assert at_kill and at_kill[-1] < NUM_STEPS, at_kill
  logs = _finish(_start("train", _train_flags(workdir, tiny_data_dir),
                        tmp_path / "resumed"), tmp_path / "resumed")
  for log in logs:
    assert (f"resuming from {ckpts / str(at_kill[-1])} (step {at_kill[-1]})"
            in log), log[-3000:]
  a = ckpt_lib.load_for_inference(ref_dir, "latest")
  b = ckpt_lib.load_for_inference(workdir, "latest")
  assert a.step == b.step == NUM_STEPS
  _assert_params_close(a.params, b.params, atol=1e-5)
  ma, mb = _metrics(ref_dir), _metrics(workdir)
  assert [r["step"] for r in ma] == [r["step"] for r in mb]
  assert not [p for p in ckpts.iterdir() if not p.name.isdigit()]


def test_sample_under_jax_distributed_splits_the_job(tiny_checkpoint,
                                                     tiny_data_dir, tmp_path):
  args = [f"--checkpoint={tiny_checkpoint}", "--dataset=synthetic_able_bodied",
          f"--data_dir={tiny_data_dir}", "--split=test", "--num_steps=2",
          "--target_speeds=0.8,1.0", "--batch_size=2", "--chunk_size=3"]
  whole, split = tmp_path / "whole", tmp_path / "split"
  proc = subprocess.run(
      [sys.executable, str(REPO / "launch" / "sample.py"), *args,
       f"--output_dir={whole}"], capture_output=True, text=True,
      env=_env(), cwd=str(REPO), timeout=_TIMEOUT_S)
  assert proc.returncode == 0, proc.stderr[-3000:]
  logs = _finish(_start("sample", args + [f"--output_dir={split}"],
                        tmp_path / "sample"), tmp_path / "sample")
  assert "(shard 0 of 2)" in logs[0] and "(shard 1 of 2)" in logs[1]
  files = sorted(p.relative_to(whole) for p in whole.rglob("*.npz"))
  assert files == sorted(p.relative_to(split) for p in split.rglob("*.npz"))
  for f in files:
    with np.load(whole / f, allow_pickle=False) as a, \
        np.load(split / f, allow_pickle=False) as b:
      assert sorted(a.files) == sorted(b.files)
      for k in a.files:
        assert a[k].tobytes() == b[k].tobytes(), (f, k)
  assert (split / "meta.json").is_file()
  assert not [p for p in split.rglob("*.tmp")]
