"""Report writer and figures on a tiny end-to-end evaluation."""
import json
import os

from matplotlib import image as plt_image
import numpy as np
import pytest

from gaitjax.eval import analyses
from gaitjax.eval import figures
from gaitjax.eval import metrics
from gaitjax.eval import report

RATE = 20.0


def gait(period=1.0, t_len=200, offset=0.0):
  """[T, 6] harmonic gait-like angles; the left leg lags half a cycle."""
  w = 2 * np.pi * np.arange(t_len) / RATE / period

  def leg(w):
    return [10 + 25 * np.cos(w) + 3 * np.cos(2 * w + 0.3),
            30 + 28 * np.cos(w + 1.2) + 8 * np.cos(2 * w + 0.5),
            2 + 10 * np.cos(w + 2.0) + 4 * np.cos(2 * w + 1.0)]

  return np.stack(leg(w) + leg(w + np.pi), axis=1) + offset


def cohort_case(cohort, speeds, subjects, paretic=("", "")):
  """All (src, tgt) pairs of each subject; generated = real + small error."""
  period = lambda v: 1.6 - 0.5 * v          # faster -> shorter stride
  trials = {(s, v): gait(period(v), offset=3.0 * i)
            for i, s in enumerate(subjects) for v in speeds}
  bank = metrics.build_reference_bank(
      np.stack(list(trials.values())), [k[0] for k in trials],
      [k[1] for k in trials], rate_hz=RATE)
  real, gen, meta = [], [], {k: [] for k in ("subject", "v_src", "v_tgt",
                                             "cohort", "paretic_side")}
  for i, s in enumerate(subjects):
    for vs in speeds:
      for vt in speeds:
        real.append(trials[(s, vt)])
        gen.append(gait(period(vt) * 1.02, offset=3.0 * i + abs(vt - vs)))
        for k, v in zip(meta, (s, vs, vt, cohort, paretic[i])):
          meta[k].append(v)
  real, gen = np.stack(real), np.stack(gen)
  recs = metrics.pair_records(real, gen, meta, rate_hz=RATE, bank=bank)
  rand = metrics.rank_samples(gen[::-1], meta["subject"], meta["v_tgt"], bank,
                              rate_hz=RATE)
  return metrics.attach_ranks(recs, rand, key="rank_random"), real, gen


@pytest.fixture(scope="module")
def tiny():
  ab = cohort_case("able_bodied", [0.6, 0.9, 1.2], ["AB01", "AB02"])
  st = cohort_case("stroke", [0.3, 0.6, 0.85], ["ST01", "ST02"],
                   paretic=("left", "right"))
  return {"able_bodied": ab, "stroke": st}


def test_format_table_fixed_width():
  text = report.format_table(["a", "longer"], [[1, "x"], ["wide cell", 2.5]])
  lines = text.splitlines()
  assert len({len(l) for l in lines}) == 1
  assert lines[2].startswith("| 1 ") and "wide cell" in lines[3]


def test_write_report_and_figures(tiny, tmp_path):
  results = {"diffusion": {}, "mlp": {}}
  cohort_out, cases = {}, {}
  for cohort, (recs, real, gen) in tiny.items():
    cohort_out[cohort] = analyses.cohort_analyses(recs, cohort, max_size=2)
    results["diffusion"][cohort] = {"records": recs,
                                    "analyses": cohort_out[cohort]}
    c = cohort_out[cohort]["representative_cases"]
    cases[cohort] = figures.case_rows(recs, real, gen, c)
  # A baseline with its own (worse) records, able-bodied only, no ranks.
  recs_ab, real_ab, gen_ab = tiny["able_bodied"]
  results["mlp"]["able_bodied"] = metrics.pair_records(
      real_ab[:3], real_ab[:3] + 4.0,
      {k: [r[k] for r in recs_ab[:3]] for k in
       ("subject", "v_src", "v_tgt", "cohort", "paretic_side")}, rate_hz=RATE)
  per_source = {m: {c: analyses.per_source_speed(
      e["records"] if isinstance(e, dict) else e) for c, e in by.items()}
      for m, by in results.items()}
  fig_dir = tmp_path / "figures"
  paths = figures.plot_all(
      fig_dir, cohort_out, per_source_models=per_source, case_arrays=cases,
      rate_hz=RATE)
  assert set(paths) == {"cycles_able_bodied", "cycles_stroke", "cadence",
                        "rank_heatmap", "mae_heatmap", "speed_able_bodied",
                        "speed_stroke"}
  for p in paths.values():
    with open(p, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(p) > 5000
  assert not [f for f in os.listdir(fig_dir) if not f.endswith(".png")]
  # Stroke rows show paretic and non-paretic legs: twice the columns.
  width = lambda p: plt_image.imread(p).shape[1]
  assert width(paths["cycles_stroke"]) > 1.7 * width(paths["cycles_able_bodied"])

  out = report.write_report(str(tmp_path / "eval"), results,
                            {"figures": paths, "main_model": "diffusion",
                             "notes": ["tiny test run"]})
  with open(out["metrics"]) as f:
    doc = json.load(f)
  ab = doc["models"]["diffusion"]["able_bodied"]
  assert len(ab["records"]) == 18
  assert ab["summary"]["headline"]["mae"] == pytest.approx(
      metrics.summarize(tiny["able_bodied"][0])["headline"]["mae"])
  assert doc["models"]["mlp"]["able_bodied"]["summary"]["headline"]["mae"] \
      == pytest.approx(4.0, abs=1e-6)
  # NaN is written as null and counted.
  assert doc["models"]["mlp"]["able_bodied"]["records"][0]["rank"] is None
  assert doc["nan_counts"]["mlp"]["able_bodied"]["rank"] == 3
  md = open(out["report"]).read()
  assert "Table I" in md and "Table II" in md and "Table III" in md
  assert "| diffusion " in md and "| mlp " in md
  assert "MAE paretic (deg)" in md and "MAE right (deg)" in md
  assert "| knee " in md and "| overall " in md
  assert "rank NaN in 3 of 3 pairs: no reference bank given" in md
  assert "figures/fig4_cadence.png" in md
  mlp_row = next(l for l in md.splitlines() if l.startswith("| mlp "))
  assert "4.00" in mlp_row
  text = report.format_table(results)      # what the quickstart prints
  assert text == report.format_overall(results) and "| mlp " in text


def test_cadence_regression_band_contains_exact_line():
  x = np.array([0.5, 1.0, 1.5, 2.0])
  fit, lo, hi = figures.regression_band(x, 80 + 20 * x, x)
  np.testing.assert_allclose(fit, 80 + 20 * x, atol=1e-9)
  np.testing.assert_allclose(hi - lo, 0.0, atol=1e-9)
  fit, lo, hi = figures.regression_band(x, 80 + 20 * x + [0, 1, -1, 0], x)
  assert np.all(hi > fit) and np.all(lo < fit)
