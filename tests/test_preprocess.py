"""Tests of gaitjax/data/preprocess.py and gaitjax/data/normalize.py."""
import json

import jax.numpy as jnp
import numpy as np
import pytest

from gaitjax.data import trial_files
from gaitjax.data import normalize
from gaitjax.data import preprocess
from gaitjax.data.trial import Trial
from gaitjax.errors import CheckpointError, DataError

# Measured on the real WBDS01 T01 file (150 -> 20 Hz against the provided
# 20 Hz file): max 0.0570 deg, mean 0.0087 deg. Asserted with a margin.
FUKUCHI_MAX_ABS_DEG = 0.08
FUKUCHI_MEAN_ABS_DEG = 0.015


def _walk(duration_s=32.0, rate=200.0, freq=0.9):
  """Plausible [T, 6] deg walking-like angles."""
  t = np.arange(int(round(duration_s * rate))) / rate
  p = 2 * np.pi * freq * t
  right = [15 + 20 * np.sin(p), 30 + 28 * np.sin(2 * p + 1),
           5 * np.sin(p + 2)]
  left = [15 + 20 * np.sin(p + np.pi), 30 + 28 * np.sin(2 * p + 1 + np.pi),
          5 * np.sin(p + 2 + np.pi)]
  return np.stack(right + left, axis=1)


# ------------------------------------------------------------ sampling_rate
def test_sampling_rate_uniform_and_rounded_time():
  assert preprocess.sampling_rate(np.arange(100) / 200.0 + 3.7) == 200.0
  rounded = np.round(np.arange(4500) / 150.0, 4)  # like the Fukuchi csv
  assert preprocess.sampling_rate(rounded) == 150.0
  assert preprocess.sampling_rate(np.arange(50) / 148.3) == pytest.approx(
      148.3)


@pytest.mark.parametrize("time,fragment", [
    (np.array([0.0, 0.01, 0.01, 0.03]), "not strictly increasing at sample 2"),
    (np.array([0.0, 0.02, 0.01, 0.03]), "not strictly increasing"),
    (np.concatenate([np.arange(10), np.arange(11, 20)]) / 100.0,
     "non-uniform"),
    (np.array([0.0]), "at least 2"),
    (np.array([0.0, np.nan, 0.2]), "nan"),
], ids=["repeated", "backwards", "gap", "single", "nan"])
def test_sampling_rate_refuses(time, fragment):
  with pytest.raises(DataError, match="mytime") as info:
    preprocess.sampling_rate(time, where="mytime")
  assert fragment in str(info.value).lower()


# ----------------------------------------------------------------- resample
@pytest.mark.parametrize("rate_in,freq", [(200.0, 1.0), (150.0, 1.7),
                                          (100.0, 2.3), (148.3, 0.8)])
def test_resample_sinusoid_keeps_amplitude_and_phase(rate_in, freq):
  t = np.arange(int(20 * rate_in)) / rate_in
  x = np.stack([np.sin(2 * np.pi * freq * t + 0.3),
                3 * np.cos(2 * np.pi * freq * t)], axis=1)
  y = preprocess.resample(x, rate_in, 20.0)
  assert y.shape[0] == int((t.shape[0] - 1) * 20.0 / rate_in) + 1
  t_out = np.arange(y.shape[0]) / 20.0
  expect = np.stack([np.sin(2 * np.pi * freq * t_out + 0.3),
                     3 * np.cos(2 * np.pi * freq * t_out)], axis=1)
  # Ends included: the mirror padding keeps them from ringing.
  np.testing.assert_allclose(y, expect, atol=0.01 * 3)
  np.testing.assert_allclose(np.abs(np.fft.rfft(y[:, 1])).max(),
                             np.abs(np.fft.rfft(expect[:, 1])).max(),
                             rtol=0.01)


def test_resample_is_exact_on_a_ramp_including_ends():
  t = np.arange(3000) / 200.0
  y = preprocess.resample(np.stack([t, 5 - 2 * t], axis=1), 200.0)
  t_out = np.arange(y.shape[0]) / 20.0
  np.testing.assert_allclose(y, np.stack([t_out, 5 - 2 * t_out], axis=1),
                             atol=1e-6)


def test_resample_removes_content_above_the_new_nyquist():
  t = np.arange(4000) / 200.0
  x = np.sin(2 * np.pi * 15.0 * t)[:, None]  # aliases to 5 Hz if not filtered
  y = preprocess.resample(x, 200.0, 20.0)
  assert np.abs(y[20:-20]).max() < 0.05


def test_resample_refuses_low_rate():
  with pytest.raises(DataError, match="below the minimum 20 Hz"):
    preprocess.resample(np.zeros((100, 6)), 10.0)


def test_resample_matches_real_fukuchi_20hz_file(shared_data):
  folder = shared_data / "fukuchi2018"
  time, angles = trial_files.read_trial_file(
      folder / "WBDS01walkT01_sagittal2D_150Hz.csv")
  _, expected = trial_files.read_trial_file(
      folder / "WBDS01walkT01_sagittal2D_20Hz_600.csv")
  rate = preprocess.sampling_rate(time)
  assert rate == 150.0
  trial = Trial("WBDS01", 0.488, angles, rate, origin="WBDS01walkT01")
  x = preprocess.to_model_input(trial)
  assert x.shape == (600, 6) and x.dtype == np.float32
  diff = np.abs(x - expected)
  assert diff.max() < FUKUCHI_MAX_ABS_DEG, diff.max()
  assert diff.mean() < FUKUCHI_MEAN_ABS_DEG, diff.mean()


# ---------------------------------------------------------- check_plausible
def test_check_plausible_accepts_walking():
  preprocess.check_plausible(_walk(2.0), "ok")


@pytest.mark.parametrize("change,fragments", [
    (lambda a: np.radians(a), ["radians"]),
    (lambda a: a * np.where(np.isin(np.arange(6), [1, 4]), -1.0, 1.0),
     ["knee_angle_r", "flexion looks negative"]),
    (lambda a: a + np.where(np.arange(6) == 3, 150.0, 0.0),
     ["hip_flexion_l", "outside the plausible -60..120"]),
    (lambda a: np.where(np.arange(a.shape[0])[:, None] * np.ones(6) == 7,
                        np.nan, a), ["nan/inf in hip_flexion_r at sample 7"]),
], ids=["radians", "knee_negative", "hip_offset", "nan"])
def test_check_plausible_refuses(change, fragments):
  with pytest.raises(DataError, match="trialX") as info:
    preprocess.check_plausible(change(_walk(2.0)), "trialX")
  for fragment in fragments:
    assert fragment in str(info.value).lower(), str(info.value)


# ----------------------------------------------------------- to_model_input
def test_to_model_input_takes_the_first_30_s():
  angles = _walk(32.0, 200.0)
  x = preprocess.to_model_input(Trial("S", 1.0, angles, 200.0))
  assert x.shape == (600, 6) and x.dtype == np.float32
  np.testing.assert_allclose(x[:, 0], angles[:6000:10, 0], atol=0.05)


def test_to_model_input_refuses_short_and_slow_trials():
  # Under 30 s with too few whole cycles (0.9 Hz strides: 2-3 in 4 s).
  with pytest.raises(DataError, match="short.csv: 2 complete gait cycles"
                     r" found \(right 2, left 3\) in 4.0 s, need at least 5"):
    preprocess.to_model_input(Trial("S", 1.0, _walk(4.0), 200.0,
                                    origin="short.csv"))
  with pytest.raises(DataError, match="slow.csv: .*below the minimum"):
    preprocess.to_model_input(Trial("S", 1.0, _walk(40.0, 10.0), 10.0,
                                    origin="slow.csv"))


# ---------------------------------------------------------------- normalize
def test_fit_stats_normalize_denormalize_numpy_and_jax():
  rng = np.random.default_rng(0)
  x = rng.normal([10, 30, 0, 10, 30, 0], [15, 20, 8, 15, 20, 8],
                 size=(5, 40, 6)).astype(np.float32)
  x[..., 2] = 4.0  # constant channel: std floors at 1e-3
  stats = normalize.fit_stats(x)
  np.testing.assert_allclose(stats.mean, x.reshape(-1, 6).mean(0), rtol=1e-5)
  assert stats.std[2] == pytest.approx(normalize.STD_FLOOR)
  z = stats.normalize(x)
  assert z.dtype == np.float32
  np.testing.assert_allclose(z.reshape(-1, 6)[:, [0, 1, 3]].mean(0), 0,
                             atol=1e-4)
  np.testing.assert_allclose(z.reshape(-1, 6)[:, [0, 1, 3]].std(0), 1,
                             atol=1e-4)
  np.testing.assert_allclose(stats.denormalize(z), x, atol=1e-3)
  zj = stats.normalize(jnp.asarray(x))
  assert isinstance(zj, jnp.ndarray)
  np.testing.assert_allclose(np.asarray(zj), z, atol=1e-5)
  np.testing.assert_allclose(np.asarray(stats.denormalize(zj)), x, atol=1e-3)


def test_norm_stats_dict_round_trip_through_json():
  stats = normalize.NormStats(np.arange(6.0), np.arange(1.0, 7.0))
  back = normalize.NormStats.from_dict(json.loads(json.dumps(stats.to_dict())))
  np.testing.assert_array_equal(back.mean, stats.mean)
  np.testing.assert_array_equal(back.std, stats.std)
  assert all(isinstance(v, float) for v in stats.to_dict()["std"])


@pytest.mark.parametrize("d,fragment", [
    ({"mean": [0.0] * 6}, "missing key 'std'"),
    ({"mean": [0.0] * 5, "std": [1.0] * 6}, "'mean' must be 6 numbers"),
    ({"mean": [0.0] * 6, "std": [1.0] * 5 + [0.0]}, "'std' must be > 0"),
    ({"mean": [0.0] * 5 + [float("nan")], "std": [1.0] * 6}, "nan"),
    ({"mean": ["a"] * 6, "std": [1.0] * 6}, "'mean' must be 6 numbers"),
    ([1, 2], "expected a mapping"),
])
def test_norm_stats_from_dict_refuses(d, fragment):
  with pytest.raises(CheckpointError, match="norm stats") as info:
    normalize.NormStats.from_dict(d)
  assert fragment in str(info.value).lower() or fragment in str(info.value)


def test_norm_stats_constructor_and_fit_refuse_bad_input():
  with pytest.raises(DataError, match="'std' must be > 0"):
    normalize.NormStats(np.zeros(6), -np.ones(6))
  with pytest.raises(DataError, match=r"\[N, T, 6\]"):
    normalize.fit_stats(np.zeros((10, 6)))


def test_choose_stats_subjects():
  subjects = [f"ST{i:02d}" for i in range(1, 20)]
  chosen = normalize.choose_stats_subjects(subjects)
  assert len(chosen) == 12 and chosen == sorted(set(chosen))
  assert set(chosen) <= set(subjects)
  # Depends on the set of names and the seed only.
  assert normalize.choose_stats_subjects(subjects[::-1] + subjects) == chosen
  others = {tuple(normalize.choose_stats_subjects(subjects, seed=s))
            for s in range(1, 6)}
  assert len(others | {tuple(chosen)}) > 1
  assert normalize.choose_stats_subjects(["B", "A", "B"]) == ["A", "B"]
  assert normalize.stroke_stats_subjects is normalize.choose_stats_subjects
