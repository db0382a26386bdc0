"""Tests for gaitjax.gait.cycles (gait-cycle detection, matching, MAE)."""
import time

import numpy as np
import pytest

from gaitjax.gait import cycles

RATE = 20.0


def gait(period_s: float, num_samples: int = 600, rate_hz: float = RATE,
         phase: float = 0.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
  """[T, 6] gait-like harmonics; the left leg lags by half a cycle."""
  t = np.arange(num_samples) / rate_hz
  rng = np.random.default_rng(seed)
  chans = []
  for offset in (0.0, np.pi):
    w = 2 * np.pi * (t / period_s + phase) + offset
    chans += [20 * np.cos(w) + 3 * np.cos(2 * w + 0.5) + 10,
              30 - 25 * np.cos(2 * w) + 10 * np.sin(w),
              5 * np.sin(w) + 8 * np.sin(2 * w + 1)]
  x = np.stack(chans, axis=1)
  return x + noise * rng.standard_normal(x.shape)


@pytest.mark.parametrize("period_s", [0.75, 1.0, 1.13, 1.6, 2.3])
def test_sinusoid_cadence_is_exact(period_s):
  t = np.arange(600) / RATE
  hip = 15 * np.sin(2 * np.pi * t / period_s)
  x = np.repeat(hip[:, None], 6, axis=1)
  assert cycles.dominant_period(hip, RATE) == pytest.approx(period_s, rel=0.02)
  assert cycles.cadence(x, RATE) == pytest.approx(120.0 / period_s, rel=0.005)


def test_gait_cadence_with_noise():
  x = gait(1.1, noise=2.0)
  assert cycles.cadence(x, RATE) == pytest.approx(120.0 / 1.1, rel=0.01)


def test_detect_cycles_count_on_noisy_periodic_signal():
  period = 1.1
  x = gait(period, noise=2.0, seed=1)
  b = cycles.detect_cycles(x[:, 0], RATE)
  expected = 600 / RATE / period            # 27.3 cycles in the window
  assert b.dtype.kind == "i"
  assert np.all(np.diff(b) > 0)
  assert 0 <= b[0] and b[-1] <= 599
  assert int(expected) - 1 <= len(b) - 1 <= int(expected)
  lengths = np.diff(b)
  np.testing.assert_allclose(lengths, period * RATE, atol=2.5)


def test_boundaries_sit_half_a_cycle_after_extension_peaks():
  # hip = cos: extension peaks (minima) at t = (k + 1/2) P, so boundaries
  # (peak + P/2) fall on the flexion peaks, t = k P.
  period = 1.0
  t = np.arange(400) / RATE
  hip = np.cos(2 * np.pi * t / period)
  b = cycles.detect_cycles(hip, RATE)
  np.testing.assert_array_equal(b % int(period * RATE), 0)


def test_detect_cycles_never_raises_and_short_signal_has_no_cycle():
  assert len(cycles.detect_cycles(np.zeros(600), RATE)) < 2
  assert len(cycles.detect_cycles(gait(1.0)[:25, 0], RATE)) < 2
  assert len(cycles.detect_cycles(np.array([1.0, 2.0]), RATE)) < 2
  noise = np.random.default_rng(0).standard_normal(600)
  assert np.isnan(cycles.dominant_period(noise, RATE))


def test_cycle_bounds_per_side_share_boundaries():
  bounds = cycles.cycle_bounds(gait(1.0), RATE)
  for side in ("right", "left"):
    bs = bounds[side]
    assert bs.shape[1] == 2 and bs.shape[0] >= 27
    np.testing.assert_array_equal(bs[1:, 0], bs[:-1, 1])
  # The left leg lags by half a cycle.
  shift = (bounds["left"][0, 0] - bounds["right"][0, 0]) % 20
  assert shift == 10


def test_normalize_cycle_endpoints_and_linearity():
  seg = np.stack([np.linspace(0, 10, 23), np.linspace(5, -5, 23)], axis=1)
  out = cycles.normalize_cycle(seg)
  assert out.shape == (101, 2)
  np.testing.assert_allclose(out[0], seg[0])
  np.testing.assert_allclose(out[-1], seg[-1])
  np.testing.assert_allclose(out[:, 0], np.linspace(0, 10, 101), atol=1e-12)


def test_side_cycles_matches_normalize_cycle():
  x = gait(1.0)
  bounds = np.array([[3, 24], [24, 44]])
  got = cycles.side_cycles(x, bounds, "left")
  assert got.shape == (2, 101, 3)
  want = cycles.normalize_cycle(x[24:45, 3:6])
  np.testing.assert_allclose(got[1], want, atol=1e-12)


def test_match_cycles_with_missing_and_extra_cycle():
  real = np.stack([np.arange(10) * 20, np.arange(1, 11) * 20], axis=1)
  gen = real[[0, 1, 2, 3, 4, 6, 7, 8, 9]] + 2        # cycle 5 missing
  gen = np.concatenate([gen, [[200, 220]]])           # and one extra
  pairs = cycles.match_cycles(real, gen, max_score=1.0)
  assert pairs == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (6, 5), (7, 6),
                   (8, 7), (9, 8)]
  # The unguarded paper rule (the default) still pairs real cycle 5.
  loose = cycles.match_cycles(real, gen)
  assert len(loose) == 10 and len({g for _, g in loose}) == 10


def test_match_cycles_prefers_similar_length_and_runs_out():
  real = np.array([[0, 20]])
  gen = np.array([[0, 30], [2, 20]])   # same score on centre, not on length
  assert cycles.match_cycles(real, gen) == [(0, 1)]
  real3 = np.array([[0, 20], [20, 40], [40, 60]])
  assert cycles.match_cycles(real3, np.array([[21, 41]]), max_score=1.0) == [(1, 0)]
  assert cycles.match_cycles(real3, np.array([[21, 41]])) == [(0, 0)]
  assert cycles.match_cycles(real3, np.zeros((0, 2))) == []


def test_cycle_mae_identity_and_offset():
  real = gait(1.05, noise=1.0)
  same = cycles.cycle_mae(real, real, RATE)
  assert same.reason is None
  assert same.mae == pytest.approx(0.0, abs=1e-12)
  assert same.r == pytest.approx(1.0, abs=1e-9)
  np.testing.assert_allclose(same.r_per_channel, 1.0, atol=1e-9)
  assert same.num_matched["right"] >= 27
  off = cycles.cycle_mae(real, real + 4.0, RATE)
  assert off.mae == pytest.approx(4.0, abs=1e-9)
  np.testing.assert_allclose(off.mae_per_channel, 4.0, atol=1e-9)


def test_cycle_mae_phase_and_cadence_invariant():
  # Same gait at another phase and a 5 % different cadence: cycle-normalised
  # curves agree although the raw time series do not.
  real = gait(1.0)
  gen = gait(1.05, phase=0.37)
  res = cycles.cycle_mae(real, gen, RATE)
  assert np.mean(np.abs(real - gen)) > 10.0
  assert res.mae < 0.5 and res.r > 0.99


def test_cycle_mae_too_short_is_nan_with_reason():
  real = gait(1.0)
  res = cycles.cycle_mae(real[:15], real, RATE)
  assert np.isnan(res.mae) and np.all(np.isnan(res.mae_per_channel))
  assert "no matched cycles" in res.reason
  flat = cycles.cycle_mae(real, np.zeros_like(real), RATE)
  assert np.isnan(flat.mae) and flat.reason


def test_mean_cycles_nan_side_and_cadence_nan():
  x = gait(1.0)
  x[:, 3:6] = 7.0                       # left leg does not move
  mc = cycles.mean_cycles(x, RATE)
  assert mc.mean.shape == (6, 101) and mc.std.shape == (6, 101)
  assert np.all(np.isfinite(mc.mean[:3])) and np.all(np.isnan(mc.mean[3:]))
  assert mc.num_cycles["left"] == 0 and "left" in mc.reason
  assert cycles.cadence(x, RATE) == pytest.approx(120.0, rel=0.005)
  assert np.isnan(cycles.cadence(np.zeros((600, 6)), RATE))


def test_cycle_mae_throughput():
  real, gen = gait(1.1, noise=2.0), gait(1.05, phase=0.3, noise=2.0, seed=2)
  n = 100
  t0 = time.perf_counter()
  for _ in range(n):
    res = cycles.cycle_mae(real, gen, RATE)
  rate = n / (time.perf_counter() - t0)
  print(f"cycle_mae: {rate:.0f} pairs/s on [600, 6]")
  assert np.isfinite(res.mae)
