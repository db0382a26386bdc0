"""launch/build_data.py as a user runs it: a tiny build, reuse, one-line errors."""
import os
import pathlib
import subprocess
import sys

from gaitjax.data import dataset

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO / "launch" / "build_data.py"


def _run(*args, cwd=None):
  env = dict(os.environ)
  env.pop("PYTHONPATH", None)  # the script must find gaitjax by itself
  return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd,
                        env=env, capture_output=True, text=True, timeout=120)


def test_tiny_build_then_reuse(tmp_path):
  args = ["--dataset=synthetic_able_bodied", f"--data_dir={tmp_path}",
          "--synthetic_subjects=3", "--synthetic_speeds=0.6,1.2"]
  first = _run(*args, cwd=tmp_path)  # not the repo: no import by accident
  assert first.returncode == 0, first.stderr[-2000:]
  assert "synthetic_able_bodied/1.0.0" in first.stdout
  sizes = [len(dataset.load_split(tmp_path, "synthetic_able_bodied", s))
           for s in ("train", "validation", "test")]
  assert sizes == [2, 2, 2]
  again = _run(*args, cwd=tmp_path)
  assert again.returncode == 0, again.stderr[-2000:]
  assert "reusing the complete build" in again.stderr


def test_missing_manual_dir_is_one_line(tmp_path):
  for extra in ([], [f"--manual_dir={tmp_path / 'nowhere'}"]):
    out = _run("--dataset=camargo", f"--data_dir={tmp_path}", *extra)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    errors = [l for l in out.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "manual_dir" in errors[0], out.stderr
