"""Reliability: kill -9, damaged checkpoints, a full disk, no unpickling.

The ``fault`` tests (``pytest -m fault``) run the real launch scripts as
subprocesses on the tiny synthetic build and configs/tiny.py, kill them with
SIGKILL at a seeded random moment, damage their output, or make writes fail
with ENOSPC, and check that a rerun recovers and that no file is ever left
half-written under its final name.

A NaN in a training batch is covered by
tests/test_train.py::test_nan_loss_raises_with_step_and_keeps_last_checkpoint
(TrainingError naming the step, the last good checkpoint intact and
loadable); it is not repeated here.
"""
import ast
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

import jax
import numpy as np
import pytest

from gaitjax.data import trial_files
from gaitjax.errors import DataError
from gaitjax.train import checkpoint as ckpt_lib
import conftest  # the shared subprocess environment

REPO = pathlib.Path(__file__).resolve().parents[1]
_ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")
_TIMEOUT_S = 240
# Seeds the kill moments, so a failure can be replayed.
_KILL_SEED = 20240607

TRAIN_FLAGS = ("--config=configs/tiny.py", "--config.train.checkpoint_every=5",
               "--config.train.eval_every=5", "--config.train.log_every=5")
# Metrics that measure time, not the model.
_TIMING = ("steps_per_s", "wall_s")


# ---------------------------------------------------------------- helpers


_env = conftest.subprocess_env


def _script(name: str) -> str:
  return str(REPO / "launch" / f"{name}.py")


def _start(cmd: Sequence[str], log: pathlib.Path) -> subprocess.Popen:
  """A background process writing stdout+stderr to log (no pipe to fill)."""
  with open(log, "wb") as f:
    return subprocess.Popen(list(cmd), stdout=f, stderr=subprocess.STDOUT,
                            env=_env(), cwd=str(REPO))


def _finish(proc: subprocess.Popen, log: pathlib.Path) -> Tuple[int, str]:
  rc = proc.wait(timeout=_TIMEOUT_S)
  return rc, log.read_text(errors="replace")


def _run(cmd: Sequence[str], log: pathlib.Path) -> Tuple[int, str]:
  return _finish(_start(cmd, log), log)


def _wait_until(cond: Callable[[], bool], proc: subprocess.Popen,
                log: pathlib.Path, what: str) -> None:
  deadline = time.monotonic() + _TIMEOUT_S
  while not cond():
    if proc.poll() is not None:
      pytest.fail(f"exited ({proc.returncode}) before {what}:\n"
                  f"{log.read_text(errors='replace')[-3000:]}")
    if time.monotonic() > deadline:
      proc.kill()
      pytest.fail(f"timed out waiting for {what}")
    time.sleep(0.02)


def _kill9(proc: subprocess.Popen, what: str) -> None:
  assert proc.poll() is None, f"{what} finished before the kill; the test " \
      "needs a longer job"
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait(timeout=30)
  assert proc.returncode == -signal.SIGKILL


def _start_and_kill9(cmd: Sequence[str], log: pathlib.Path,
                     ready: Callable[[], bool], what: str,
                     delay_s: float, reset: Callable[[], None],
                     attempts: int = 4) -> None:
  """Starts cmd, waits for ready(), sleeps delay_s and kills it with SIGKILL.

  A faster machine can finish the job inside the delay; then the output is
  removed with reset() and the job started again with a quarter of the
  delay (the last attempt kills as soon as ready() holds), so the kill
  always lands mid-job whatever the machine's speed.
  """
  for attempt in range(attempts):
    if attempt == attempts - 1:
      delay_s = 0.0
    victim = _start(cmd, log)
    _wait_until(ready, victim, log, f"{what}'s first output")
    time.sleep(delay_s)
    if victim.poll() is None:
      _kill9(victim, what)
      return
    reset()
    delay_s /= 4
  pytest.fail(f"{what} finished before the kill in all {attempts} attempts, "
              f"even when killed at its first output; the test needs a "
              f"longer job")


def _non_log(text: str) -> List[str]:
  return [l for l in text.split("\n")
          if l.strip() and "\r" not in l and not _ABSL_LINE.match(l)]


def _step_dirs(ckpt_dir: pathlib.Path) -> List[int]:
  """Finished orbax steps (in-progress ones are '<n>.orbax-checkpoint-tmp')."""
  if not ckpt_dir.is_dir():
    return []
  return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit())


def _done_line(log: str) -> Dict[str, float]:
  """launch/train.py's final 'done: k = v, ...' line, timings left out."""
  lines = [l for l in log.splitlines() if "] done: " in l]
  assert len(lines) == 1, log[-3000:]
  out = {}
  for item in lines[0].split("] done: ", 1)[1].split(", "):
    k, v = item.split(" = ")
    if k not in _TIMING:
      out[k] = float(v)
  return out


def _metrics(workdir: pathlib.Path) -> List[Dict[str, float]]:
  rows = [json.loads(l) for l in
          (workdir / "metrics.jsonl").read_text().splitlines()]
  return [{k: v for k, v in r.items() if k not in _TIMING} for r in rows]


def _assert_close_dicts(a: Dict[str, float], b: Dict[str, float],
                        rtol=1e-5, atol=1e-6) -> None:
  assert sorted(a) == sorted(b)
  for k in a:
    np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


def _assert_same_params(a: pathlib.Path, b: pathlib.Path, atol=1e-5) -> None:
  pa = ckpt_lib.load_for_inference(a, "latest")
  pb = ckpt_lib.load_for_inference(b, "latest")
  assert pa.step == pb.step
  flat_a = jax.tree_util.tree_flatten_with_path(pa.params)[0]
  flat_b = jax.tree_util.tree_flatten_with_path(pb.params)[0]
  assert [p for p, _ in flat_a] == [p for p, _ in flat_b]
  for (path, x), (_, y) in zip(flat_a, flat_b):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol,
                               rtol=0, err_msg=jax.tree_util.keystr(path))


def _train_cmd(workdir: pathlib.Path, data_dir: pathlib.Path,
               num_steps: int) -> List[str]:
  return [sys.executable, _script("train"), *TRAIN_FLAGS,
          f"--workdir={workdir}", f"--config.data.data_dir={data_dir}",
          f"--config.train.num_steps={num_steps}"]


# -------------------------------------------------------- kill -9 training


@pytest.mark.fault
def test_kill9_train_resumes_to_the_uninterrupted_result(tmp_path,
                                                         tiny_data_dir):
  rng = random.Random(_KILL_SEED)
  ref_dir, run_dir = tmp_path / "uninterrupted", tmp_path / "killed"
  ckpts = run_dir / ckpt_lib.CHECKPOINT_DIR
  # The uninterrupted reference runs alongside the run that gets killed.
  ref = _start(_train_cmd(ref_dir, tiny_data_dir, 40), tmp_path / "ref.log")
  _start_and_kill9(_train_cmd(run_dir, tiny_data_dir, 40),
                   tmp_path / "victim.log", lambda: bool(_step_dirs(ckpts)),
                   "training", rng.uniform(0.0, 2.0),
                   lambda: shutil.rmtree(run_dir))
  at_kill = _step_dirs(ckpts)
  assert at_kill and at_kill[-1] < 40, at_kill

  rc, log = _run(_train_cmd(run_dir, tiny_data_dir, 40),
                 tmp_path / "resumed.log")
  assert rc == 0, log[-3000:]
  assert "Traceback" not in log
  assert f"resuming from {ckpts / str(at_kill[-1])} (step {at_kill[-1]})" \
      in log, log[-3000:]
  ref_rc, ref_log = _finish(ref, tmp_path / "ref.log")
  assert ref_rc == 0, ref_log[-3000:]

  _assert_same_params(ref_dir, run_dir, atol=1e-5)
  _assert_close_dicts(_done_line(ref_log), _done_line(log))
  # metrics.jsonl: one line per logged step, the killed run's tail rewritten.
  ref_rows, rows = _metrics(ref_dir), _metrics(run_dir)
  assert [r["step"] for r in rows] == [r["step"] for r in ref_rows]
  for a, b in zip(ref_rows, rows):
    _assert_close_dicts(a, b)
  # An interrupted async save's temp folder is cleaned up on restart.
  assert not [p for p in ckpts.iterdir() if not p.name.isdigit()], \
      list(ckpts.iterdir())


# ------------------------------------------------ damaged checkpoint files


def _two_step_workdir(tmp_path: pathlib.Path, data_dir) -> pathlib.Path:
  """A workdir holding finished steps 5 and 10 (10 newest).

  Validation loss keeps falling in these short runs, so the manager keeps
  only the newest step; step 5 is put back by copying, as if it had been the
  best.
  """
  from configs import tiny  # pylint: disable=g-import-not-at-top
  from gaitjax.train import loop  # pylint: disable=g-import-not-at-top
  workdir = tmp_path / "base"
  config = tiny.get_config()
  config.data.data_dir = str(data_dir)
  for flag in TRAIN_FLAGS[1:]:
    key, value = flag[len("--config."):].split("=")
    section, field = key.split(".")
    config[section][field] = int(value)
  config.train.num_steps = 5
  loop.train_and_evaluate(config, str(workdir))
  step5 = tmp_path / "step5"
  shutil.copytree(workdir / "checkpoints" / "5", step5)
  config.train.num_steps = 10
  loop.train_and_evaluate(config, str(workdir))
  shutil.copytree(step5, workdir / "checkpoints" / "5")
  assert _step_dirs(workdir / "checkpoints") == [5, 10]
  return workdir


def _largest_data_file(step_dir: pathlib.Path) -> pathlib.Path:
  files = [f for f in (step_dir / "state").rglob("*")
           if f.is_file() and f.parent.name == "d"]
  assert files, f"no OCDBT data files in {step_dir}"
  return max(files, key=lambda f: (f.stat().st_size, f.name))


def _truncate(f: pathlib.Path) -> None:
  with open(f, "r+b") as fh:
    fh.truncate(f.stat().st_size // 2)


@pytest.mark.fault
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_newest_checkpoint_warns_and_falls_back(tmp_path,
                                                        tiny_data_dir):
  base = _two_step_workdir(tmp_path, tiny_data_dir)
  step5_before = _metrics(base)[0]
  assert step5_before["step"] == 5
  damages = {"truncated": _truncate, "deleted": pathlib.Path.unlink}
  procs = {}
  for name, damage in damages.items():
    workdir = tmp_path / name
    shutil.copytree(base, workdir)
    victim = _largest_data_file(workdir / "checkpoints" / "10")
    damage(victim)
    procs[name] = (workdir, _start(_train_cmd(workdir, tiny_data_dir, 15),
                                   tmp_path / f"{name}.log"))
  for name, (workdir, proc) in procs.items():
    rc, log = _finish(proc, tmp_path / f"{name}.log")
    step10 = workdir / "checkpoints" / "10"
    assert rc == 0, (name, log[-3000:])
    assert "Traceback" not in log, name
    assert re.search(rf"W\d{{4}} .*checkpoint {re.escape(str(step10))} is "
                     rf"damaged and is skipped \(\w+Error: ", log), (name, log)
    assert f"restored step 5 from {workdir / 'checkpoints' / '5'}" in log
    assert f"resuming from {workdir / 'checkpoints' / '5'} (step 5)" in log
    assert list((workdir / ckpt_lib.DAMAGED_DIR).glob("10-*")), name
    assert ckpt_lib.load_for_inference(workdir, "latest").step == 15
    rows = _metrics(workdir)
    assert [r["step"] for r in rows] == [5, 10, 15], name
    # Step 5's line is kept; 10 is retrained (on a 15-step LR schedule).
    _assert_close_dicts(step5_before, rows[0])


# ------------------------------------------------ sample and build outputs


def _parse_sample_outputs(out: pathlib.Path) -> Tuple[set, List[str]]:
  """Parses every file a sampling job left; returns (complete stems, temps).

  Raises if any file under a final name does not parse.
  """
  stems: Dict[str, set] = {}
  temps = []
  for f in sorted(out.rglob("*")):
    if f.is_dir():
      continue
    if f.name.startswith(".") and f.name.endswith(".tmp"):
      temps.append(str(f.relative_to(out)))
      continue
    if f.name == "meta.json":
      meta = json.loads(f.read_text())
      assert meta["num_requests"] > 0
      continue
    if f.suffix == ".npz":
      with np.load(f, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
      assert arrays["angles"].shape == (600, 6), f
      assert np.isfinite(arrays["angles"]).all(), f
    elif f.suffix == ".mot":
      assert trial_files.read_mot(f).data.shape == (600, 7), f
    elif f.suffix == ".csv":
      t, angles = trial_files.read_trial_file(f)
      assert angles.shape == (600, 6) and t.shape == (600,), f
    else:
      pytest.fail(f"unexpected file {f}")
    stems.setdefault(str(f.with_suffix("").relative_to(out)),
                     set()).add(f.suffix)
  complete = {s for s, exts in stems.items()
              if exts == {".npz", ".csv", ".mot"}}
  return complete, temps


def _sample_cmd(checkpoint, data_dir, out, speeds: Sequence[float]
                ) -> List[str]:
  return [sys.executable, _script("sample"), f"--checkpoint={checkpoint}",
          f"--output_dir={out}", "--dataset=synthetic_able_bodied",
          f"--data_dir={data_dir}", "--split=test",
          "--target_speeds=" + ",".join(f"{v:.2f}" for v in speeds)]


@pytest.mark.fault
def test_kill9_sample_rerun_completes_and_no_file_is_partial(
    tmp_path, tiny_data_dir, tiny_checkpoint):
  rng = random.Random(_KILL_SEED + 1)
  out = tmp_path / "out"
  speeds = np.round(np.arange(0.60, 1.2001, 0.02), 2)  # 31 x 4 test trials
  cmd = _sample_cmd(tiny_checkpoint, tiny_data_dir, out, speeds)
  ref_out = tmp_path / "uninterrupted"
  ref = _start(_sample_cmd(tiny_checkpoint, tiny_data_dir, ref_out, speeds),
               tmp_path / "ref.log")
  _start_and_kill9(cmd, tmp_path / "victim.log",
                   lambda: any(out.rglob("*.npz")), "sampling",
                   rng.uniform(0.0, 0.3), lambda: shutil.rmtree(out))
  done_at_kill, temps_at_kill = _parse_sample_outputs(out)
  from gaitjax.data import dataset as dataset_lib
  num_requests = len(dataset_lib.load_split(
      tiny_data_dir, "synthetic_able_bodied", "test")) * len(speeds)
  assert len(done_at_kill) < num_requests

  rc, log = _run(cmd, tmp_path / "rerun.log")
  assert rc == 0, log[-3000:]
  assert "Traceback" not in log
  if done_at_kill:
    assert f"resuming: {len(done_at_kill)} of {num_requests}" in log
  done, temps = _parse_sample_outputs(out)
  assert len(done) == num_requests
  # A kill in the middle of an atomic write leaves at most its hidden temp
  # file, never a file under the final name; the rerun does not need it.
  assert set(temps) == set(temps_at_kill)
  # Resumed outputs are those of an uninterrupted job (same seeds, noise).
  ref_rc, ref_log = _finish(ref, tmp_path / "ref.log")
  assert ref_rc == 0, ref_log[-3000:]
  assert _parse_sample_outputs(ref_out)[0] == done
  for stem in done:
    with np.load(out / f"{stem}.npz", allow_pickle=False) as a, \
        np.load(ref_out / f"{stem}.npz", allow_pickle=False) as b:
      np.testing.assert_allclose(a["angles"], b["angles"], atol=1e-4,
                                 err_msg=stem)


@pytest.mark.fault
def test_kill9_build_data_rerun_completes_and_loads(tmp_path):
  from gaitjax.data import dataset as dataset_lib
  from gaitjax.data import tfds_builders
  rng = random.Random(_KILL_SEED + 2)
  data_dir = tmp_path / "data"
  cmd = [sys.executable, _script("build_data"), "--dataset=all_synthetic",
         f"--data_dir={data_dir}", "--synthetic_subjects=6",
         "--synthetic_speeds=0.6,0.8,1.0,1.2"]
  root = data_dir / tfds_builders.DATASET_NAME / "synthetic_able_bodied"
  _start_and_kill9(cmd, tmp_path / "victim.log", root.is_dir, "build_data",
                   rng.uniform(0.0, 1.5), lambda: shutil.rmtree(data_dir))

  def check_built(name: str) -> None:
    path = tfds_builders.dataset_path(data_dir, name)
    assert tfds_builders.is_built(data_dir, name), path
    for f in path.glob("*.json"):
      json.loads(f.read_text())
    splits = json.loads((path / tfds_builders.STATS_FILE).read_text())[
        "splits"]
    for split, subjects in splits.items():
      if not subjects:
        continue
      ts = dataset_lib.load_split(data_dir, name, split)
      assert len(ts) == 4 * len(subjects) if name.endswith("bodied") \
          else len(ts) > 0
      assert ts.x.shape[1:] == (600, 6) and np.isfinite(ts.x).all()

  # Whatever the kill left under a final name is complete.
  for name in tfds_builders.SYNTHETIC:
    if tfds_builders.dataset_path(data_dir, name).exists():
      check_built(name)
  rc, log = _run(cmd, tmp_path / "rerun.log")
  assert rc == 0, log[-3000:]
  for name in tfds_builders.SYNTHETIC:
    check_built(name)
    leftovers = list(tfds_builders.dataset_path(data_dir, name).parent
                     .glob("incomplete.*"))
    assert not leftovers, leftovers


# --------------------------------------------------------------- disk full

# Runs a launch script with os.fdopen'ed files (gaitjax.files' atomic writes)
# failing with ENOSPC once GAITJAX_FAKE_DISK_BYTES bytes have been written.
_DISK_FULL_BOOT = r"""
import errno, os, runpy, sys
budget = [int(os.environ["GAITJAX_FAKE_DISK_BYTES"])]
real_fdopen = os.fdopen

class Full:
  def __init__(self, f):
    self._f = f
  def write(self, data):
    n = memoryview(data).nbytes if not isinstance(data, str) else len(data)
    if n > budget[0]:
      budget[0] = 0
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    budget[0] -= n
    return self._f.write(data)
  def __getattr__(self, name):
    return getattr(self._f, name)
  def __enter__(self):
    return self
  def __exit__(self, *exc):
    self._f.close()

def fdopen(fd, *args, **kwargs):
  return Full(real_fdopen(fd, *args, **kwargs))

os.fdopen = fdopen
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


@pytest.mark.fault
def test_disk_full_while_sampling_is_one_line_and_leaves_nothing_partial(
    tmp_path, tiny_data_dir, tiny_checkpoint):
  out = tmp_path / "out"
  cmd = _sample_cmd(tiny_checkpoint, tiny_data_dir, out, [0.7, 0.9, 1.1])
  cmd = [sys.executable, "-c", _DISK_FULL_BOOT] + cmd[1:]
  env = _env()
  env["GAITJAX_FAKE_DISK_BYTES"] = "400000"  # meta.json and a few results
  proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                        cwd=str(REPO), timeout=_TIMEOUT_S, check=False)
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert proc.returncode == 2, proc.stderr[-3000:]
  lines = _non_log(proc.stderr)
  assert len(lines) == 1, proc.stderr[-3000:]
  assert re.fullmatch(rf"error: {re.escape(str(out))}/\S+\.(npz|csv|mot): "
                      r"cannot write \(No space left on device\)", lines[0])
  done, temps = _parse_sample_outputs(out)
  assert (out / "meta.json").is_file()
  assert 0 < len(done) < 12
  assert not temps, temps


# -------------------------------------------------------- no unpickling

_NP_NAMES = ("np", "numpy", "onp", "jnp")


def pickle_hazards(source: str, filename: str = "<src>") -> List[str]:
  """Where ``source`` may unpickle: np.load without an explicit
  allow_pickle=False, allow_pickle=True, pickle/dill/joblib/pandas loads."""
  found = []
  tree = ast.parse(source, filename)
  for node in ast.walk(tree):
    where = f"{filename}:{getattr(node, 'lineno', '?')}"
    if isinstance(node, ast.ImportFrom) and node.module in (
        "numpy", "pickle", "dill", "cloudpickle", "joblib"):
      for alias in node.names:
        if alias.name in ("load", "loads", "Unpickler"):
          found.append(f"{where}: from {node.module} import {alias.name}")
    if not isinstance(node, ast.Call):
      continue
    for kw in node.keywords:
      if kw.arg == "allow_pickle" and not (
          isinstance(kw.value, ast.Constant) and kw.value.value is False):
        found.append(f"{where}: allow_pickle={ast.unparse(kw.value)}")
    func = node.func
    if not isinstance(func, ast.Attribute):
      continue
    owner = ast.unparse(func.value)
    if owner in _NP_NAMES and func.attr == "load":
      if not any(kw.arg == "allow_pickle" for kw in node.keywords):
        found.append(f"{where}: {owner}.load without allow_pickle=False")
    elif owner in ("pickle", "cPickle", "dill", "cloudpickle") and \
        func.attr in ("load", "loads", "Unpickler"):
      found.append(f"{where}: {owner}.{func.attr}")
    elif owner in ("joblib", "torch") and func.attr == "load":
      found.append(f"{where}: {owner}.load")
    elif func.attr == "read_pickle":
      found.append(f"{where}: {owner}.read_pickle")
  return found


def test_pickle_scanner_finds_each_hazard():
  bad = """
import pickle, numpy as np
from numpy import load
a = np.load("x.npz")
b = np.load("x.npz", allow_pickle=True)
c = pickle.loads(b"")
d = pd.read_pickle("x")
e = np.load("x.npz", allow_pickle=False)
"""
  found = pickle_hazards(bad)
  assert len(found) == 5, found
  assert not any(":8:" in f for f in found), found


def test_package_source_never_unpickles():
  found = []
  for folder in ("gaitjax", "launch", "configs"):
    for path in sorted((REPO / folder).rglob("*.py")):
      text = path.read_text()
      found += pickle_hazards(text, str(path.relative_to(REPO)))
      if "allow_pickle=True" in text.replace(" ", ""):
        found.append(f"{path}: allow_pickle=True")
  assert not found, "\n".join(found)


class _Payload:
  """Unpickling it creates a marker file."""

  def __init__(self, marker: str):
    self.marker = marker

  def __reduce__(self):
    return (open, (self.marker, "w"))


def test_reading_an_npz_never_unpickles(tmp_path):
  marker = tmp_path / "unpickled"
  t = np.arange(700) / 20.0
  angles = np.zeros((700, 6))
  evil = np.array([_Payload(str(marker))], dtype=object)
  extra = tmp_path / "extra_member.npz"
  np.savez(extra, time=t, angles=angles, evil=evil, allow_pickle=True)
  trial_files.read_trial_file(extra)  # the extra member is never read
  as_angles = tmp_path / "object_angles.npz"
  np.savez(as_angles, time=t, angles=evil, allow_pickle=True)
  with pytest.raises(DataError, match="object_angles.npz.*allow_pickle"):
    trial_files.read_trial_file(as_angles)
  pure_pickle = tmp_path / "pickle.npz"
  import pickle  # pylint: disable=g-import-not-at-top
  pure_pickle.write_bytes(pickle.dumps(_Payload(str(marker))))
  with pytest.raises(DataError, match="not a zip archive"):
    trial_files.read_trial_file(pure_pickle)
  assert not marker.exists()


_PICKLE_HEADER = re.compile(rb"^\x80[\x02-\x05]")
_OCDBT_MAGIC, _ZSTD_MAGIC = b"\x0c\xdb", b"\x28\xb5\x2f\xfd"


def test_checkpoints_hold_no_pickle(tiny_checkpoint):
  files = [f for f in (tiny_checkpoint / "checkpoints").rglob("*")
           if f.is_file()]
  assert files
  kinds: Dict[str, int] = {}
  for f in files:
    data = f.read_bytes()
    assert not _PICKLE_HEADER.match(data), f
    assert b"\x80\x04\x95" not in data[:64], f
    if f.name == "commit_success.txt":
      kind = "commit"
    elif data.startswith((_OCDBT_MAGIC, _ZSTD_MAGIC)):
      kind = "ocdbt"
    else:
      json.loads(data)  # everything else is JSON
      kind = "json"
    kinds[kind] = kinds.get(kind, 0) + 1
  assert kinds.get("ocdbt", 0) > 0 and kinds.get("json", 0) >= 6, kinds
