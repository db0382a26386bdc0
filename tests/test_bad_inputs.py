"""Bad inputs through the real launch scripts: exit 2 and one `error:` line.

Every case runs launch/<script>.py as a subprocess, so absl flag parsing and
gaitjax.cli.run are exercised exactly as a user meets them. The cases run
once, a few at a time (process start-up and the jax import dominate), in a
module fixture; one parametrised test per case then checks its result:

  * exit status 2;
  * stderr, without absl log lines (``I1128 12:00:00.0 123 file.py:1] ...``)
    and blank lines, is exactly one line, it starts with ``error:`` and it is
    the last line; ``Traceback`` appears nowhere;
  * the message names the input (file / field / flag) and the problem.
"""
import concurrent.futures
import dataclasses
import functools
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Callable, Dict, List, Sequence

import numpy as np
import pytest

from gaitjax import constants
import conftest  # the shared subprocess environment

REPO = pathlib.Path(__file__).resolve().parents[1]
# absl's prefix: severity, date, time, thread id, file:line].
_ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")
_WORKERS = 3
_TIMEOUT_S = 180


subprocess_env = conftest.subprocess_env


def non_log_lines(stderr: str) -> List[str]:
  """stderr lines that are not absl log lines, blank, or progress bars
  (redrawn with \\r)."""
  return [line for line in stderr.split("\n")  # splitlines() splits at \r
          if line.strip() and "\r" not in line
          and not _ABSL_LINE.match(line)]


# ------------------------------------------------------------ input files


@functools.lru_cache(maxsize=None)
def _valid_trial(rate_hz: float = 100.0, duration_s: float = 32.0):
  """(time [T] s, angles [T, 6] deg) of a synthetic able-bodied trial."""
  from gaitjax.data import synthetic  # pylint: disable=g-import-not-at-top
  trial = synthetic.make_able_bodied_cohort(
      seed=3, num_subjects=1, speeds=[1.0], duration_s=duration_s,
      rate_hz=rate_hz)[0]
  time = np.arange(trial.angles.shape[0]) / trial.rate_hz
  return time, np.asarray(trial.angles, np.float64)


def _csv_text(time, angles, header=None) -> str:
  header = header or ["time", *constants.CHANNELS]
  rows = [",".join(header)]
  rows += [",".join([f"{t:.6f}"] + [f"{v:.4f}" for v in a])
           for t, a in zip(time, angles)]
  return "\n".join(rows) + "\n"


def _trial_csv(**kw) -> str:
  return _csv_text(*_valid_trial(**kw))


def _mot_text(in_degrees_line=True) -> str:
  time, angles = _valid_trial()
  head = ["trial", "version=1", f"nRows={len(time)}", "nColumns=7"]
  if in_degrees_line:
    head.append("inDegrees=yes")
  head.append("endheader")
  rows = ["\t".join(["time", *constants.CHANNELS])]
  rows += ["\t".join([f"{t:.6f}"] + [f"{v:.4f}" for v in a])
           for t, a in zip(time, angles)]
  return "\n".join(head + rows) + "\n"


def _folder(root: pathlib.Path, trial_file: str,
            write: Callable[[pathlib.Path], None], *,
            speed: str = "1.0", subject: str = "AB01",
            listed_subject: str = "AB01") -> pathlib.Path:
  """A --dataset=folder tree: subjects.csv, trials.csv and one trial file."""
  root.mkdir(parents=True)
  (root / "subjects.csv").write_text(
      f"subject,cohort,paretic_side\n{listed_subject},able_bodied,\n")
  (root / "trials.csv").write_text(
      f"subject,speed_mps,path\n{subject},{speed},{trial_file}\n")
  write(root / trial_file)
  return root


def _set_cell(row: int, col: int, value: str) -> str:
  """A valid trial CSV with one cell (file line row + 1) replaced."""
  lines = _trial_csv().splitlines()
  fields = lines[row].split(",")
  fields[col] = value
  lines[row] = ",".join(fields)
  return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ cases


@dataclasses.dataclass
class Ctx:
  """Paths the cases' arguments are built from."""
  tmp: pathlib.Path
  data_dir: pathlib.Path
  checkpoint: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Case:
  id: str
  script: str
  args: Callable[[Ctx], Sequence[str]]
  expect: Sequence[str]      # substrings of the error line (regexes)


def _text(make: Callable[..., str], *args, **kw
          ) -> Callable[[pathlib.Path], None]:
  """A writer of make(*args, **kw), called when the case runs."""
  return lambda path: path.write_text(make(*args, **kw))


def _build_folder(name: str, trial_file: str,
                  write: Callable[[pathlib.Path], None], **kw):
  def args(ctx: Ctx) -> List[str]:
    root = _folder(ctx.tmp / name, trial_file, write, **kw)
    return ["--dataset=folder", f"--manual_dir={root}",
            f"--data_dir={ctx.tmp / ('data_' + name)}"]
  return args


def _malformed_csv() -> str:
  lines = _trial_csv().splitlines()
  lines[50] = lines[50] + ",0.5"  # one field too many
  return "\n".join(lines) + "\n"


def _wrong_channels() -> str:
  t, a = _valid_trial()
  return _csv_text(t, a, ["time", "hip_r_flex", *constants.CHANNELS[1:]])


def _duplicated_columns() -> str:
  t, a = _valid_trial()
  a = np.concatenate([a, a[:, 2:3]], axis=1)
  return _csv_text(t, a, ["time", *constants.CHANNELS, "knee_angle_r"])


def _non_monotonic() -> str:
  t, a = _valid_trial()
  t = t.copy()
  t[100], t[101] = t[101], t[100]
  return _csv_text(t, a)


def _pickled_npz(path: pathlib.Path) -> None:
  """angles stored as an object array: loading it would unpickle."""
  t, a = _valid_trial()
  np.savez(path, time=t, angles=a.astype(object))


def _corrupt_mat_tree(ctx: Ctx) -> List[str]:
  root = ctx.tmp / "camargo"
  for sub in ("ik", "conditions"):
    d = root / "AB06" / "10_09_18" / "treadmill" / sub
    d.mkdir(parents=True)
    (d / "treadmill_01_01.mat").write_bytes(
        b"MATLAB 5.0 MAT-file" + bytes(range(256)) * 8)
  return ["--dataset=camargo", f"--manual_dir={root}",
          f"--data_dir={ctx.tmp / 'data_camargo'}"]


def _empty_folder(ctx: Ctx) -> List[str]:
  root = ctx.tmp / "empty"
  root.mkdir()
  return ["--dataset=folder", f"--manual_dir={root}",
          f"--data_dir={ctx.tmp / 'data_empty'}"]


def _file_parent(ctx: Ctx, name: str) -> pathlib.Path:
  """A path below a regular file (root can write anywhere else)."""
  blocker = ctx.tmp / f"{name}.txt"
  blocker.write_text("a regular file\n")
  return blocker / "out"


def _train_args(ctx: Ctx, *extra: str, workdir=None) -> List[str]:
  return ["--config=configs/tiny.py",
          f"--workdir={workdir or ctx.tmp / 'train_run'}",
          f"--config.data.data_dir={ctx.data_dir}", *extra]


def _other_config_resume(ctx: Ctx) -> List[str]:
  workdir = ctx.tmp / "width_run"
  shutil.copytree(ctx.checkpoint, workdir)
  # conftest.tiny_config's settings, but a wider model.
  return _train_args(ctx, "--config.data.reference=template",
                     "--config.diffusion.prediction=v",
                     "--config.model.width=64", workdir=workdir)


def _edited_checkpoint(ctx: Ctx) -> pathlib.Path:
  """A copy of the tiny checkpoint whose saved config says width 64."""
  import json
  workdir = ctx.tmp / "edited_ckpt"
  shutil.copytree(ctx.checkpoint, workdir)
  for meta in workdir.glob("checkpoints/*/config/metadata"):
    config = json.loads(meta.read_text())
    config["model"]["width"] = 64
    meta.write_text(json.dumps(config))
  return workdir


def _sample_args(ctx: Ctx, *extra: str, checkpoint=None) -> List[str]:
  return [f"--checkpoint={checkpoint or ctx.checkpoint}",
          f"--output_dir={ctx.tmp / 'sample_out'}", *extra]


def _dataset_input(ctx: Ctx) -> List[str]:
  return ["--dataset=synthetic_able_bodied", f"--data_dir={ctx.data_dir}",
          "--split=test"]


def _evaluate_args(ctx: Ctx, *extra: str) -> List[str]:
  return [f"--checkpoint={ctx.checkpoint}", f"--data_dir={ctx.data_dir}",
          f"--output_dir={ctx.tmp / 'eval_out'}", "--max_pairs=4",
          "--num_steps=1", "--no_randomised_encoding", *extra]


CASES: List[Case] = [
    # ------------------------------------------------ build_data: trial files
    Case("malformed_csv", "build_data",
         _build_folder("malformed_csv", "t.csv", _text(_malformed_csv)),
         [r"t\.csv", "malformed CSV", "line 51"]),
    Case("mot_without_inDegrees", "build_data",
         _build_folder("mot_no_deg", "t.mot",
                       _text(_mot_text, in_degrees_line=False)),
         [r"t\.mot", "inDegrees"]),
    Case("nan_value", "build_data",
         _build_folder("nan", "t.csv", _text(_set_cell, 200, 3, "nan")),
         [r"t\.csv", "NaN/Inf in ankle_angle_r", "line 201"]),
    Case("inf_value", "build_data",
         _build_folder("inf", "t.csv", _text(_set_cell, 300, 5, "-inf")),
         [r"t\.csv", "NaN/Inf in knee_angle_l", "line 301"]),
    Case("wrong_channel_names", "build_data",
         _build_folder("channels", "t.csv", _text(_wrong_channels)),
         [r"t\.csv", "missing column 'hip_flexion_r'"]),
    Case("duplicated_columns", "build_data",
         _build_folder("dup", "t.csv", _text(_duplicated_columns)),
         [r"t\.csv", "'knee_angle_r' appears more than once"]),
    Case("non_monotonic_time", "build_data",
         _build_folder("time", "t.csv", _text(_non_monotonic)),
         [r"t\.csv", "time is not strictly increasing"]),
    Case("too_few_cycles", "build_data",
         _build_folder("short", "t.csv",
                       _text(_trial_csv, duration_s=3.0)),
         [r"t\.csv", "complete gait cycles found", "need at least 5"]),
    Case("rate_below_20_hz", "build_data",
         _build_folder("slow", "t.csv",
                       _text(_trial_csv, rate_hz=10.0, duration_s=40.0)),
         [r"t\.csv", "10 Hz is below the minimum 20 Hz"]),
    Case("pickled_npz", "build_data",
         _build_folder("pickle", "t.npz", _pickled_npz),
         [r"t\.npz", "allow_pickle=False"]),
    # ---------------------------------------------- build_data: trials.csv
    Case("speed_zero", "build_data",
         _build_folder("speed0", "t.csv", _text(_trial_csv), speed="0"),
         [r"trials\.csv line 2", "speed_mps", "positive"]),
    Case("speed_negative", "build_data",
         _build_folder("speedneg", "t.csv", _text(_trial_csv), speed="-0.8"),
         [r"trials\.csv line 2", "speed_mps", "positive"]),
    Case("speed_text", "build_data",
         _build_folder("speedtxt", "t.csv", _text(_trial_csv), speed="fast"),
         [r"trials\.csv line 2", "speed_mps 'fast' is not a number"]),
    Case("subject_not_listed", "build_data",
         _build_folder("subject", "t.csv", _text(_trial_csv), subject="AB99"),
         [r"trials\.csv line 2", "'AB99' is not in", r"subjects\.csv"]),
    Case("empty_folder", "build_data", _empty_folder,
         ["--manual_dir=.*/empty", "empty folder"]),
    Case("corrupt_mat", "build_data", _corrupt_mat_tree,
         [r"treadmill_01_01\.mat", "cannot read MAT-file"]),
    Case("data_dir_below_a_file", "build_data",
         lambda ctx: ["--dataset=synthetic_stroke", "--synthetic_subjects=2",
                      f"--data_dir={_file_parent(ctx, 'build_blocker')}"],
         [r"build_blocker\.txt/out", "Not a directory"]),
    # ------------------------------------------------------------- train
    Case("unknown_config_key", "train",
         lambda ctx: _train_args(ctx, "--config.train.no_such_key=1"),
         ["--config.train.no_such_key", "unknown config key"]),
    Case("wrong_type_config_value", "train",
         lambda ctx: _train_args(ctx, "--config.train.num_steps=abc"),
         ["--config.train.num_steps=abc", "invalid literal for int"]),
    Case("missing_config_file", "train",
         lambda ctx: ["--config=configs/no_such_config.py",
                      f"--workdir={ctx.tmp / 'nocfg'}"],
         ["--config", r"no_such_config\.py", "No such file"]),
    Case("missing_workdir", "train",
         lambda ctx: ["--config=configs/tiny.py"],
         ["--workdir", "must have a value"]),
    Case("checkpoint_from_other_config", "train", _other_config_resume,
         ["width_run/checkpoints/2", "does not match the config",
          r"has shape \(.*\) in the checkpoint"]),
    Case("workdir_below_a_file", "train",
         lambda ctx: _train_args(
             ctx, workdir=_file_parent(ctx, "train_blocker")),
         [r"train_blocker\.txt/out", "Not a directory"]),
    # ------------------------------------------------------------ sample
    Case("sample_missing_checkpoint", "sample",
         lambda ctx: _sample_args(ctx, *_dataset_input(ctx),
                                  checkpoint=ctx.tmp / "no_such_run"),
         ["no_such_run", "does not exist"]),
    Case("sample_extrapolated_speed", "sample",
         lambda ctx: _sample_args(ctx, *_dataset_input(ctx),
                                  "--target_speeds=1.8"),
         ["target speed", "1.8", "training range",
          "--allow_extrapolation"]),
    Case("sample_trial_is_a_folder", "sample",
         lambda ctx: _sample_args(ctx, f"--trial={ctx.tmp}",
                                  "--source_speed=1.0",
                                  "--target_speeds=0.8"),
         ["sample_trial_is_a_folder", "is a folder, expected a file"]),
    Case("sample_checkpoint_params_mismatch", "sample",
         lambda ctx: _sample_args(ctx, *_dataset_input(ctx),
                                  checkpoint=_edited_checkpoint(ctx)),
         ["edited_ckpt", "does not match the config"]),
    Case("sample_output_below_a_file", "sample",
         lambda ctx: [f"--checkpoint={ctx.checkpoint}",
                      f"--output_dir={_file_parent(ctx, 'sample_blocker')}",
                      *_dataset_input(ctx)],
         [r"sample_blocker\.txt", "cannot write"]),
    # ---------------------------------------------------------- evaluate
    Case("evaluate_empty_speed_subset", "evaluate",
         lambda ctx: _evaluate_args(ctx, "--speeds=1.7"),
         ["--speeds=1.7", "no trial"]),
    Case("evaluate_missing_checkpoint", "evaluate",
         lambda ctx: [f"--checkpoint={ctx.tmp / 'gone'}",
                      *_evaluate_args(ctx)[1:]],
         ["gone", "does not exist"]),
]


@dataclasses.dataclass
class Result:
  returncode: int
  stderr: str
  seconds: float


def _run_case(case: Case, ctx: Ctx) -> Result:
  import time
  case_ctx = dataclasses.replace(ctx, tmp=ctx.tmp / case.id)
  case_ctx.tmp.mkdir(parents=True)
  args = list(case.args(case_ctx))
  start = time.monotonic()
  proc = subprocess.run(
      [sys.executable, str(REPO / "launch" / f"{case.script}.py"), *args],
      capture_output=True, text=True, env=subprocess_env(), cwd=str(REPO),
      timeout=_TIMEOUT_S, check=False)
  return Result(proc.returncode, proc.stderr, time.monotonic() - start)


@pytest.fixture(scope="module")
def results(tmp_path_factory, tiny_data_dir, tiny_checkpoint
            ) -> Dict[str, Result]:
  ctx = Ctx(tmp=tmp_path_factory.mktemp("bad_inputs"),
            data_dir=tiny_data_dir, checkpoint=tiny_checkpoint)
  # Slowest first (they load a checkpoint), so the pool ends evenly.
  order = sorted(CASES, key=lambda c: c.script not in ("sample", "evaluate"))
  with concurrent.futures.ThreadPoolExecutor(_WORKERS) as pool:
    futures = {c.id: pool.submit(_run_case, c, ctx) for c in order}
    out = {k: f.result() for k, f in futures.items()}
  if os.environ.get("GAITJAX_PRINT_BAD_INPUTS"):
    for case in CASES:
      r = out[case.id]
      last = non_log_lines(r.stderr)[-1:] or [""]
      print(f"| {case.id} | {case.script} | {r.returncode} | "
            f"{r.seconds:.1f} | `{last[0]}` |")
  return out


def test_at_least_twenty_cases_over_every_script():
  assert len(CASES) >= 20
  assert len({c.id for c in CASES}) == len(CASES)
  assert {c.script for c in CASES} == {"build_data", "train", "sample",
                                       "evaluate"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_error_line_exit_2(case, results):
  r = results[case.id]
  tail = r.stderr[-3000:]
  assert "Traceback" not in r.stderr, tail
  assert r.returncode == 2, tail
  lines = non_log_lines(r.stderr)
  assert len(lines) == 1, tail
  (line,) = lines
  assert line.startswith("error: "), tail
  assert r.stderr.rstrip("\n").split("\n")[-1] == line, tail
  for pattern in case.expect:
    assert re.search(pattern, line), (pattern, line)


def test_non_log_lines_filters_absl_lines():
  stderr = ("I1128 16:27:59.297485 140206697540480 loop.py:115] data: 3\n"
            "W1128 16:30:36.941208 139978776230784 loop.py:394] resuming\n"
            "\n\r  0%|   | 0/25\r100%|###| 25/25\n"
            "warning: not a log line\n"
            "error: something: wrong\n")
  assert non_log_lines(stderr) == ["warning: not a log line",
                                   "error: something: wrong"]
