"""Tests of gaitjax/files.py (atomic writes) and gaitjax/data/trial_files.py (.mot, trial .csv/.mot/.npz)."""
import json
import os

import numpy as np
import pytest

from gaitjax import constants
from gaitjax import files
from gaitjax.data import trial_files
from gaitjax.data import preprocess
from gaitjax.errors import DataError

RATE = 100.0
NUM = 12


def _trial(num=NUM, rate=RATE):
  """time [num] s and plausible angles [num, 6] deg."""
  time = np.arange(num) / rate
  phase = 2 * np.pi * time
  angles = np.stack([20 * np.sin(phase), 30 + 25 * np.sin(phase),
                     5 * np.cos(phase), -20 * np.sin(phase),
                     30 - 25 * np.sin(phase), -5 * np.cos(phase)], axis=1)
  return time, angles


def _csv_text(header=("time",) + constants.CHANNELS, time=None, angles=None):
  t, a = _trial()
  time = t if time is None else time
  angles = a if angles is None else angles
  rows = [",".join(header)]
  rows += [",".join([f"{ti:.6f}"] + [f"{v:.6f}" for v in row])
           for ti, row in zip(time, angles)]
  return "\n".join(rows) + "\n"


def _mot_text(header_lines=("t", "version=1", "inDegrees=yes", "endheader"),
              columns=("time",) + constants.CHANNELS, body=None):
  t, a = _trial()
  if body is None:
    body = ["\t".join(f"{v:.6f}" for v in (ti, *row))
            for ti, row in zip(t, a)]
  return "\n".join(list(header_lines) + ["\t".join(columns)] + body) + "\n"


# ------------------------------------------------------------ atomic writes
def test_atomic_writes_round_trip_and_leave_no_temp(tmp_path):
  files.atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
  files.atomic_write_text(tmp_path / "b.txt", "héllo\n")
  files.atomic_write_json(tmp_path / "c.json",
                        {"x": np.float32(1.5), "y": np.arange(3)})
  files.atomic_save_npz(tmp_path / "d.npz", z=np.eye(2), s=np.array("AB01"))
  files.atomic_write_text(tmp_path / "b.txt", "second")  # replaces
  assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt", "c.json",
                                          "d.npz"]
  assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
  assert (tmp_path / "b.txt").read_text() == "second"
  assert json.loads((tmp_path / "c.json").read_text()) == {"x": 1.5,
                                                           "y": [0, 1, 2]}
  with np.load(tmp_path / "d.npz", allow_pickle=False) as npz:
    np.testing.assert_array_equal(npz["z"], np.eye(2))
    assert str(npz["s"]) == "AB01"
  mode = os.stat(tmp_path / "a.bin").st_mode & 0o777
  assert mode == 0o666 & ~files._UMASK  # as open() would, not mkstemp's 0600


def test_atomic_write_into_unwritable_folder_raises_one_line(tmp_path):
  # Tests run as root, so permissions cannot force a failure: a parent that
  # is a file can.
  blocker = tmp_path / "file"
  blocker.write_text("x")
  target = blocker / "out.json"
  with pytest.raises(DataError, match="cannot write") as info:
    files.atomic_write_json(target, {"a": 1})
  assert str(target) in str(info.value) and "\n" not in str(info.value)
  assert os.listdir(tmp_path) == ["file"]


def test_atomic_write_failing_rename_removes_temp(tmp_path):
  (tmp_path / "out").mkdir()  # the final rename onto a folder fails
  with pytest.raises(DataError, match="out"):
    files.atomic_write_text(tmp_path / "out", "text")
  assert os.listdir(tmp_path) == ["out"]
  assert os.listdir(tmp_path / "out") == []


def test_atomic_save_npz_refuses_objects(tmp_path):
  with pytest.raises(DataError, match="dtype object"):
    files.atomic_save_npz(tmp_path / "x.npz", a=np.array([{"a": 1}]))
  assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- .mot
def test_write_mot_reads_back_same_values(tmp_path):
  time, angles = _trial(num=50, rate=150.0)
  path = tmp_path / "out.mot"
  trial_files.write_mot(path, time, angles)
  mot = trial_files.read_mot(path)
  assert mot.columns == ["time"] + list(constants.CHANNELS)
  assert mot.in_degrees and mot.header["name"] == "gaitjax"
  np.testing.assert_allclose(mot.column("time"), time, atol=1e-8)
  np.testing.assert_allclose(mot.data[:, 1:], angles, atol=1e-6)
  t2, a2 = trial_files.read_trial_file(path)
  np.testing.assert_allclose(a2, angles, atol=1e-6)
  assert preprocess.sampling_rate(t2) == 150.0


def test_read_mot_converts_radians_but_not_time_or_translations(tmp_path):
  path = tmp_path / "rad.mot"
  path.write_text("rad\ninDegrees=no\nendheader\ntime\tpelvis_tx\tknee_angle_r"
                  "\n0.0\t0.5\t1.0\n0.01\t0.6\t-0.5\n")
  mot = trial_files.read_mot(path)
  assert not mot.in_degrees
  np.testing.assert_allclose(mot.data, [[0.0, 0.5, np.degrees(1.0)],
                                        [0.01, 0.6, np.degrees(-0.5)]])


def test_real_mot_fixture(shared_data):
  path = shared_data / "fukuchi2018" / "WBDS01walkT01_ik_sample.mot"
  mot = trial_files.read_mot(path)
  assert mot.in_degrees and mot.columns[0] == "time"
  assert set(constants.CHANNELS) <= set(mot.columns)
  assert mot.data.shape == (242, 26)
  time, angles = trial_files.read_trial_file(path)
  assert preprocess.sampling_rate(time) == 150.0
  preprocess.check_plausible(angles, str(path))
  knee = angles[:, constants.KNEE_CHANNELS[0]]
  assert 40 < knee.max() < 80 and knee.min() > -10  # flexion positive
  np.testing.assert_allclose(angles[0, 0], 20.17079055)


# ---------------------------------------------------------- trial round trips
def test_trial_csv_and_npz_round_trips(tmp_path):
  time, angles = _trial(num=30, rate=200.0)
  trial_files.write_trial_csv(tmp_path / "t.csv", time, angles)
  trial_files.write_trial_npz(tmp_path / "t.npz", time, angles, subject="AB01",
                      speed_mps=1.25)
  for name in ("t.csv", "t.npz"):
    t2, a2 = trial_files.read_trial_file(tmp_path / name)
    np.testing.assert_allclose(t2, time, atol=1e-8)
    np.testing.assert_allclose(a2, angles, atol=1e-6)
  with np.load(tmp_path / "t.npz", allow_pickle=False) as npz:
    assert str(npz["subject"]) == "AB01" and float(npz["speed_mps"]) == 1.25


def test_csv_any_column_order_extra_columns_and_aliases(tmp_path):
  time, angles = _trial()
  order = [5, 2, 0, 4, 1, 3]
  header = ["extra", "ankle_l", "ankle_r", "hip_r", "knee_l", "knee_r",
            "hip_l", "time_s"]
  lines = [",".join(header)]
  for t, row in zip(time, angles):
    lines.append(",".join(["7"] + [f"{row[j]:.6f}" for j in order]
                          + [f"{t:.6f}"]))
  path = tmp_path / "aliases.csv"
  path.write_text("\n".join(lines) + "\n")
  t2, a2 = trial_files.read_trial_file(path)
  np.testing.assert_allclose(a2, angles, atol=1e-6)
  np.testing.assert_allclose(t2, time, atol=1e-6)


def _nan_csv():
  _, a = _trial()
  a[4, 1] = np.nan
  return _csv_text(angles=a)


def _inf_csv():
  _, a = _trial()
  a[2, 5] = np.inf
  return _csv_text(angles=a)


def _time_csv(change):
  t, _ = _trial()
  change(t)
  return _csv_text(time=t)


def _npz_bytes(tmp_path, **arrays):
  np.savez(tmp_path / "scratch.npz", **arrays)
  data = (tmp_path / "scratch.npz").read_bytes()
  os.remove(tmp_path / "scratch.npz")
  return data


_T, _A = _trial()
_GOOD_ROWS = _csv_text().splitlines()
# (case id, file name, content: str | bytes | callable(tmp_path) | None = no
# file | "DIR" = a folder, expected message fragment).
BAD_INPUTS = [
    ("missing_file", "nope.csv", None, "no such file"),
    ("directory", "folder.csv", "DIR", "is a folder"),
    ("unknown_extension", "trial.txt", _csv_text(), "unknown extension"),
    ("empty_csv", "empty.csv", "", "empty csv"),
    ("ragged_csv", "ragged.csv",
     "\n".join(_GOOD_ROWS[:3] + [_GOOD_ROWS[3] + ",1.0"] + _GOOD_ROWS[4:]),
     "line 4 has 8 fields"),
    ("bad_quote_csv", "quote.csv",
     "\n".join(_GOOD_ROWS[:2] + ['0.1,"1"2,3,4,5,6,7']), "malformed csv"),
    ("missing_channel", "nochan.csv",
     _csv_text(header=("time",) + constants.CHANNELS[:4] + ("x",)
               + constants.CHANNELS[5:]), "missing column 'knee_angle_l'"),
    ("missing_time", "notime.csv",
     _csv_text(header=("clock",) + constants.CHANNELS),
     "missing column 'time'"),
    ("duplicated_column", "dup.csv",
     _csv_text(header=("time",) + constants.CHANNELS[:5]
               + ("hip_flexion_r",)), "'hip_flexion_r' appears more than"),
    ("alias_and_name", "both.csv",
     _csv_text(header=("time",) + constants.CHANNELS[:5] + ("ankle_r",)),
     "ankle_angle_r and ankle_r both present"),
    ("non_numeric", "text.csv",
     "\n".join(_GOOD_ROWS[:3] + [_GOOD_ROWS[3].replace(
         _GOOD_ROWS[3].split(",")[2], "abc", 1)] + _GOOD_ROWS[4:]),
     "line 4, column 'knee_angle_r': 'abc' is not a number"),
    ("empty_field", "blank.csv",
     "\n".join(_GOOD_ROWS[:2] + ["0.01,,1,2,3,4,5"]), "'' is not a number"),
    ("nan", "nan.csv", _nan_csv(), "nan/inf in knee_angle_r at line 6"),
    ("inf", "inf.csv", _inf_csv(), "nan/inf in ankle_angle_l at line 4"),
    ("non_monotonic_time", "back.csv",
     _time_csv(lambda t: t.__setitem__(5, t[3])),
     "not strictly increasing at line 7"),
    ("non_uniform_time", "gap.csv",
     _time_csv(lambda t: t.__setitem__(slice(6, None), t[6:] + 0.004)),
     "non-uniform sampling"),
    ("too_few_rows", "short.csv", "\n".join(_GOOD_ROWS[:2]), "too few rows"),
    ("header_only", "header.csv", _GOOD_ROWS[0], "too few rows"),
    ("mot_no_indegrees", "noflag.mot",
     _mot_text(header_lines=("t", "version=1", "endheader")), "indegrees"),
    ("mot_bad_indegrees", "flag.mot",
     _mot_text(header_lines=("t", "inDegrees=maybe", "endheader")),
     "indegrees must be yes or no"),
    ("mot_no_endheader", "noend.mot",
     _mot_text(header_lines=("t", "inDegrees=yes")), "no 'endheader'"),
    ("mot_non_numeric", "text.mot",
     _mot_text(body=["0.0\t1\t2\t3\t4\t5\tx"]), "'x' is not a number"),
    ("mot_ragged", "ragged.mot",
     _mot_text(body=["0.0\t1\t2\t3\t4\t5\t6", "0.01\t1\t2"]),
     "line 7 has 3 values"),
    ("mot_missing_channel", "nochan.mot",
     _mot_text(columns=("time",) + constants.CHANNELS[1:] + ("x",)),
     "missing column 'hip_flexion_r'"),
    ("mot_no_rows", "norows.mot", _mot_text(body=[]), "no data rows"),
    ("npz_missing_angles", "noangles.npz",
     lambda p: _npz_bytes(p, time=_T), "missing array 'angles'"),
    ("npz_wrong_shape", "shape.npz",
     lambda p: _npz_bytes(p, time=_T, angles=_A[:, :4]), "angles [t, 6]"),
    ("npz_not_a_zip", "garbage.npz", b"this is not a zip file",
     "not an .npz file"),
    ("npz_pickled", "pickle.npz",
     lambda p: _npz_bytes(p, time=_T, angles=np.array([{}], dtype=object)),
     "object arrays cannot be loaded"),
    ("npz_nan", "nan.npz",
     lambda p: _npz_bytes(p, time=_T, angles=np.where(
         np.arange(NUM)[:, None] == 3, np.nan, _A)),
     "nan/inf in hip_flexion_r at sample 3"),
    ("npz_text_angles", "text.npz",
     lambda p: _npz_bytes(p, time=_T, angles=np.full((NUM, 6), "a")),
     "must be numeric"),
]


@pytest.mark.parametrize("name,content,fragment",
                         [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_trial_files_raise_one_line_data_error(tmp_path, name, content,
                                                   fragment):
  path = tmp_path / name
  if callable(content):
    content = content(tmp_path)
  if content == "DIR":
    path.mkdir()
  elif isinstance(content, bytes):
    path.write_bytes(content)
  elif content is not None:
    path.write_text(content)
  with pytest.raises(DataError) as info:
    trial_files.read_trial_file(path)
  message = str(info.value)
  assert name in message and "\n" not in message
  assert fragment in message.lower(), message


def test_writers_refuse_bad_arrays(tmp_path):
  time, angles = _trial()
  with pytest.raises(DataError, match=r"angles \[T, 6\]"):
    trial_files.write_trial_csv(tmp_path / "x.csv", time, angles[:, :5])
  with pytest.raises(DataError, match="NaN"):
    trial_files.write_mot(tmp_path / "x.mot", time, angles * np.nan)
  with pytest.raises(DataError, match="'info' has dtype object"):
    trial_files.write_trial_npz(tmp_path / "x.npz", time, angles, info={"a": 1})
  assert os.listdir(tmp_path) == []
