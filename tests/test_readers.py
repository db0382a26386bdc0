"""Tests of gaitjax/data/readers.py: folder layout and Camargo 2021."""
import os
import pathlib

import numpy as np
import pandas as pd
import pytest
import scipy.io

from gaitjax import constants
from gaitjax.data import trial_files
from gaitjax.data import readers
from gaitjax.errors import DataError

matio = readers.import_matio()


def _angles(num, rate, offset=0.0):
  t = np.arange(num) / rate
  p = 2 * np.pi * 0.9 * t
  return np.stack([15 + 20 * np.sin(p), 30 + 25 * np.sin(2 * p),
                   5 * np.sin(p), 15 - 20 * np.sin(p), 30 - 25 * np.sin(2 * p),
                   -5 * np.sin(p)], axis=1) + offset


# ------------------------------------------------------------ folder layout
def _write_folder(root: pathlib.Path) -> dict:
  """Folder of csv, mot, npz trials -> {(subject, speed): (angles, rate)}."""
  root.mkdir(exist_ok=True)
  (root / "subjects.csv").write_text(
      "subject,cohort,paretic_side\nAB01,able_bodied,\nAB02,able_bodied,\n"
      "ST01,stroke,left\n")
  (root / "trials").mkdir(exist_ok=True)
  specs = [("AB01", 0.5, "trials/ab01_050.csv", 200.0, 0.0),
           ("AB01", 1.0, "trials/ab01_100.mot", 100.0, 1.0),
           ("AB02", 0.8, "trials/ab02_080.npz", 120.0, 2.0),
           ("ST01", 0.6, "trials/st01_060.csv", 150.0, 3.0)]
  expected, lines = {}, ["subject,speed_mps,path"]
  for subject, speed, rel, rate, offset in specs:
    time = 2.5 + np.arange(int(3 * rate)) / rate
    angles = _angles(time.shape[0], rate, offset)
    writer = {".csv": trial_files.write_trial_csv, ".mot": trial_files.write_mot,
              ".npz": trial_files.write_trial_npz}[os.path.splitext(rel)[1]]
    writer(root / rel, time, angles)
    expected[(subject, speed)] = (angles, rate)
    lines.append(f"{subject},{speed},{rel}")
  (root / "trials.csv").write_text("\n".join(lines) + "\n")
  return expected


def test_read_folder(tmp_path):
  expected = _write_folder(tmp_path / "data")
  trials = readers.read_folder(tmp_path / "data")
  assert [(t.subject, t.speed_mps) for t in trials] == list(expected)
  for trial in trials:
    angles, rate = expected[(trial.subject, trial.speed_mps)]
    assert trial.rate_hz == rate
    np.testing.assert_allclose(trial.angles, angles, atol=1e-4)
    assert trial.origin.startswith(str(tmp_path / "data" / "trials"))
  stroke = trials[-1]
  assert (stroke.cohort, stroke.paretic_side) == ("stroke", "left")
  assert {(t.cohort, t.paretic_side) for t in trials[:-1]} == {
      ("able_bodied", None)}


def _edit(rel, old, new):
  def change(root):
    path = root / rel
    path.write_text(path.read_text().replace(old, new, 1))
  return change


def _remove(rel):
  return lambda root: os.remove(root / rel)


# (id, change to a good folder, file named in the message, fragment).
BAD_FOLDERS = [
    ("missing_root", None, "nowhere", "data folder not found"),
    ("empty_folder", "EMPTY", "data", "empty folder"),
    ("missing_subjects_csv", _remove("subjects.csv"), "subjects.csv",
     "not found"),
    ("missing_trials_csv", _remove("trials.csv"), "trials.csv", "not found"),
    ("bad_subjects_header", _edit("subjects.csv", "cohort", "group"),
     "subjects.csv", "bad header"),
    ("bad_trials_header", _edit("trials.csv", "speed_mps", "speed"),
     "trials.csv", "bad header"),
    ("unknown_subject", _edit("trials.csv", "AB02,", "AB09,"), "trials.csv",
     "subject 'ab09' is not in"),
    ("speed_text", _edit("trials.csv", "0.8,", "fast,"), "trials.csv",
     "speed_mps 'fast' is not a number"),
    ("speed_zero", _edit("trials.csv", "0.8,", "0,"), "trials.csv",
     "positive number"),
    ("speed_negative", _edit("trials.csv", "0.8,", "-0.8,"), "trials.csv",
     "positive number"),
    ("unknown_cohort", _edit("subjects.csv", "AB02,able_bodied",
                             "AB02,athlete"), "subjects.csv",
     "unknown cohort 'athlete'"),
    ("bad_paretic_side", _edit("subjects.csv", "stroke,left", "stroke,both"),
     "subjects.csv", "paretic_side 'both'"),
    ("duplicate_pass", _edit("trials.csv", "AB01,1.0,trials/ab01_100.mot",
                             "AB01,0.50,trials/ab01_050.csv"),
     "trials.csv", "already given on line 2"),
    ("missing_trial_file", _remove("trials/ab02_080.npz"), "ab02_080.npz",
     "no such file"),
    ("bad_trial_file", _edit("trials/st01_060.csv", "0.", "x."),
     "st01_060.csv", "is not a number"),
]


@pytest.mark.parametrize("change,name,fragment",
                         [c[1:] for c in BAD_FOLDERS],
                         ids=[c[0] for c in BAD_FOLDERS])
def test_read_folder_refuses(tmp_path, change, name, fragment):
  root = tmp_path / "data"
  if change == "EMPTY":
    root.mkdir()
  elif change is None:
    root = tmp_path / "nowhere"
  else:
    _write_folder(root)
    change(root)
  with pytest.raises(DataError) as info:
    readers.read_folder(root)
  message = str(info.value)
  assert name in message and "\n" not in message, message
  assert fragment in message.lower(), message


# ------------------------------------------------------------------ Camargo
IK_RATE, COND_RATE, T0 = 200.0, 1000.0, 12.345


def _speed_profile(segments):
  """Speed [N] at 1000 Hz from (duration_s, end speed, 'ramp'|'hold')."""
  speed, level = [], 0.0
  for duration, target, kind in segments:
    n = int(round(duration * COND_RATE))
    if kind == "ramp":
      speed.append(np.linspace(level, target, n, endpoint=False))
    else:
      speed.append(np.full(n, target))
    level = target
  return np.concatenate(speed)


def _write_camargo_trial(root, subject, name, segments, struct=False):
  speed = _speed_profile(segments)
  cond_time = T0 + np.arange(speed.shape[0]) / COND_RATE
  ik_time = T0 + np.arange(int(speed.shape[0] * IK_RATE / COND_RATE)) / IK_RATE
  angles = _angles(ik_time.shape[0], IK_RATE)
  # hip_flexion_l encodes time so tests can see which window was taken.
  angles[:, 3] = (ik_time - T0) / 10.0
  ik = {"Header": ik_time}
  for j, channel in enumerate(constants.CHANNELS):
    ik[channel] = -angles[:, j] if "knee" in channel else angles[:, j]
  base = root / subject / "10_09_18" / "treadmill"
  for sensor, var, table in (("ik", "data", ik),
                             ("conditions", "speed",
                              {"Header": cond_time, "Speed": speed})):
    (base / sensor).mkdir(parents=True, exist_ok=True)
    path = base / sensor / f"{name}.mat"
    if struct:
      scipy.io.savemat(path, {var: table})
    else:
      matio.save_to_mat(str(path), {var: pd.DataFrame(table)}, version="v7")
  return angles


# ramp 2 s from 0; 0.5 m/s 38 s; 0.75 m/s 33 s; 1.0 m/s 20 s (too short).
TRIAL_1 = [(2, 0.0, "hold"), (3, 0.5, "ramp"), (38, 0.5, "hold"),
           (3, 0.75, "ramp"), (33, 0.75, "hold"), (3, 1.0, "ramp"),
           (20, 1.0, "hold"), (3, 0.0, "ramp"), (1, 0.0, "hold")]
# 0.75 again (kept from trial 1), then 1.25 m/s.
TRIAL_2 = [(2, 0.0, "hold"), (3, 0.75, "ramp"), (31, 0.75, "hold"),
           (3, 1.25, "ramp"), (36, 1.25, "hold"), (2, 0.0, "ramp")]


@pytest.fixture(scope="module")
def camargo_root(tmp_path_factory):
  root = tmp_path_factory.mktemp("camargo")
  angles = {"01": _write_camargo_trial(root, "AB01", "treadmill_01_01",
                                       TRIAL_1),
            "02": _write_camargo_trial(root, "AB01", "treadmill_02_01",
                                       TRIAL_2)}
  _write_camargo_trial(root, "AB02", "treadmill_01_01", TRIAL_2, struct=True)
  return root, angles


def test_read_camargo_miniature_tree(camargo_root):
  root, angles = camargo_root
  trials = readers.read_camargo(root)
  got = [(t.subject, t.speed_mps) for t in trials]
  assert got == [("AB01", 0.5), ("AB01", 0.75), ("AB01", 1.25),
                 ("AB02", 0.75), ("AB02", 1.25)]
  for t in trials:
    assert t.angles.shape == (6000, 6) and t.rate_hz == IK_RATE
    assert t.cohort == "able_bodied" and t.paretic_side is None
    assert t.angles[:, constants.KNEE_CHANNELS].min() > 0  # negated
  # The repeated 0.75 m/s comes from the first trial file.
  assert "treadmill_01_01" in trials[1].origin
  # Windows start 5 s into each plateau, less when the plateau is short
  # (0.75 m/s: 33 s): 0.5 m/s holds 5..43 s, 0.75 m/s 46..79 s (trial 1),
  # 1.25 m/s 39..75 s (trial 2), +-0.12 s where ramps are within 0.01 m/s.
  starts = [t.angles[0, 3] * 10.0 for t in trials[:3]]
  np.testing.assert_allclose(starts, [5 + 5, 79 - 30, 39 + 5], atol=0.15)
  first = np.flatnonzero(np.isclose(angles["01"][:, 3], starts[0] / 10.0,
                                    atol=1e-6))[0]
  np.testing.assert_allclose(trials[0].angles[:, [0, 1]],
                             angles["01"][first:first + 6000, [0, 1]],
                             atol=1e-4)


def test_find_plateaus_and_windows_pure_numpy():
  t = np.arange(0, 90, 0.001)
  speed = np.interp(t, [0, 3, 40, 43, 60, 62, 90],
                    [0, 1.2, 1.2, 0.8, 0.8, 1.5, 1.5])
  speed += np.random.default_rng(0).normal(0, 0.002, t.shape)
  plateaus = readers.find_plateaus(t, speed, min_duration_s=25.0)
  assert len(plateaus) == 2  # 17 s at 0.8 m/s is too short
  np.testing.assert_allclose([p.level_mps for p in plateaus], [1.2, 1.5],
                             atol=0.002)
  assert abs(plateaus[0].start_s - 3) < 0.1
  assert abs(plateaus[0].end_s - 40) < 0.1
  # A short plateau skips less than skip_s so that 30 s still fit.
  p = readers.Plateau(10.0, 42.0, 1.0)
  assert readers.steady_window(p, 30.0, 5.0) == (12.0, 42.0)
  assert readers.round_speed(0.7749) == 0.75
  assert readers.round_speed(1.2251) == 1.25


def test_load_table_reads_tables_and_structs(camargo_root):
  root, _ = camargo_root
  rel = pathlib.Path("10_09_18/treadmill/conditions/treadmill_01_01.mat")
  table = readers._load_table(root / "AB01" / rel, "speed")
  struct = readers._load_table(root / "AB02" / rel, "speed")
  assert set(table) == set(struct) == {"Header", "Speed"}
  assert table["Header"].dtype == np.float64 and table["Header"][0] == T0


def _camargo_copy(camargo_root, tmp_path):
  root, _ = camargo_root
  base = tmp_path / "c" / "AB01" / "10_09_18" / "treadmill"
  for sensor in ("ik", "conditions"):
    (base / sensor).mkdir(parents=True)
    src = root / "AB01" / "10_09_18" / "treadmill" / sensor
    (base / sensor / "treadmill_02_01.mat").write_bytes(
        (src / "treadmill_02_01.mat").read_bytes())
  return tmp_path / "c", base


def test_read_camargo_refuses(camargo_root, tmp_path):
  with pytest.raises(DataError, match="no treadmill trials found"):
    (tmp_path / "empty").mkdir()
    readers.read_camargo(tmp_path / "empty")
  root, base = _camargo_copy(camargo_root, tmp_path)
  ik = base / "ik" / "treadmill_02_01.mat"
  ik.write_bytes(ik.read_bytes()[:400])
  with pytest.raises(DataError, match="treadmill_02_01.mat: cannot read"):
    readers.read_camargo(root)
  time = np.arange(10) / IK_RATE
  matio.save_to_mat(str(ik), {"data": pd.DataFrame(
      {"Header": time, "hip_flexion_r": time})}, version="v7")
  with pytest.raises(DataError, match="missing column 'knee_angle_r'"):
    readers.read_camargo(root)
  os.remove(base / "conditions" / "treadmill_02_01.mat")
  with pytest.raises(DataError, match="conditions/treadmill_02_01.mat: no"):
    readers.read_camargo(root)


def test_read_camargo_without_long_plateaus(camargo_root, tmp_path):
  root, _ = camargo_root
  with pytest.raises(DataError, match="no constant-speed plateau of >= 40 s"):
    readers.read_camargo(root, duration_s=40.0)


def test_real_subject_info_table(shared_data):
  info = readers.read_subject_info(shared_data / "camargo2021" /
                                   "SubjectInfo.mat")
  assert len(info) == 22
  assert list(info)[:3] == ["AB06", "AB07", "AB08"] and "AB30" in info
  assert info["AB06"] == {"Age": 20.0, "Gender": "M", "Height": 1.8,
                          "Weight": 74.84}
  assert info["AB09"]["Gender"] == "F"
  table = readers._load_table(shared_data / "camargo2021" / "SubjectInfo.mat",
                              "data")
  assert list(table) == ["Subject", "Age", "Gender", "Height", "Weight"]
