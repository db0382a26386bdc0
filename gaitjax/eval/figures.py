"""Paper-style figures (Figs. 2-7) as PNG files.

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas directly
(no pyplot, so no global backend or open-figure state), rendered to memory and
written atomically (temp file in the same folder, then rename). Each function
returns the path it wrote.
"""
import io
import math
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from gaitjax import constants
from gaitjax import files
from gaitjax.eval import analyses
from gaitjax.eval import metrics
from gaitjax.gait import cycles

PathLike = Union[str, os.PathLike]
_REAL_COLOR = "0.2"
_GEN_COLOR = "tab:red"
_DPI = 110


def _save(fig: Figure, path: PathLike) -> str:
  """Renders fig to PNG in memory, then writes it atomically."""
  FigureCanvasAgg(fig)
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
  path = os.fspath(path)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  files.atomic_write_bytes(path, buf.getvalue())
  return path


def _band(ax, x, mean, sd, color, label):
  ax.plot(x, mean, color=color, lw=1.5, label=label)
  ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)


# ------------------------------------------------------------ Figs. 2 and 3
def plot_cycle_cases(path: PathLike, cases: Sequence[Mapping[str, Any]], *,
                     cohort: str = "able_bodied",
                     paretic_side: Optional[str] = None,
                     rate_hz: float = constants.RATE_HZ,
                     title: Optional[str] = None) -> str:
  """Mean +- SD gait cycles, real vs generated, one row per case.

  Args:
    path: PNG to write.
    cases: rows, each {'label': str, 'real': [T, 6], 'gen': [T, 6]} in
      degrees, optionally 'paretic_side' (e.g. best / median / worst pair of
      the median subject, see ``case_rows``). The curves are mean +- SD of
      the matched cycles of ``cycles.cycle_mae``.
    cohort: able-bodied rows show the right leg's hip, knee, ankle (3
      columns); stroke rows show them for the paretic and the non-paretic leg
      (6 columns), which needs ``paretic_side`` (argument, else the first
      row's).
  """
  if paretic_side is None and cases:
    paretic_side = cases[0].get("paretic_side") or None
  sides = (("paretic", "non_paretic") if cohort == "stroke" and paretic_side
           else ("right",))
  labels = metrics.side_labels(cohort, paretic_side)
  cols = [(side, j, labels[side][j]) for side in sides for j in range(3)]
  fig = Figure(figsize=(2.6 * len(cols), 2.2 * max(len(cases), 1)))
  axes = fig.subplots(max(len(cases), 1), len(cols), squeeze=False)
  pct = np.linspace(0, 100, 101)
  for row, case in enumerate(cases):
    # The matched cycles behind the reported MAE, so curves and numbers agree.
    cmp = cycles.cycle_mae(np.asarray(case["real"], np.float64),
                           np.asarray(case["gen"], np.float64), rate_hz)
    for col, (side, joint, ch) in enumerate(cols):
      ax = axes[row, col]
      _band(ax, pct, cmp.real_mean[ch], cmp.real_std[ch], _REAL_COLOR, "real")
      _band(ax, pct, cmp.gen_mean[ch], cmp.gen_std[ch], _GEN_COLOR,
            "generated")
      if row == 0:
        ax.set_title(f"{side.replace('_', '-')} {constants.JOINTS[joint]}",
                     fontsize=9)
      if col == 0:
        ax.set_ylabel(f"{case.get('label', '')}\nangle (deg)", fontsize=8)
      if row == len(cases) - 1:
        ax.set_xlabel("gait cycle (%)", fontsize=8)
      ax.tick_params(labelsize=7)
  axes[0, 0].legend(fontsize=7, frameon=False)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def case_rows(records: Sequence[Mapping[str, Any]], real: np.ndarray,
              gen: np.ndarray, cases: Mapping[str, Any]) -> list:
  """Rows for ``plot_cycle_cases`` from ``analyses.representative_cases``.

  Args:
    records: the per-pair records the cases index into.
    real, gen: [N, T, 6] arrays that records' 'index' fields point into.
    cases: {'best': i, 'median': i, 'worst': i} positions into records.
  """
  rows = []
  for name in ("best", "median", "worst"):
    rec = records[cases[name]]
    label = (f"{name} {rec['v_src']:.2f}->{rec['v_tgt']:.2f} m/s\n"
             f"MAE {rec['mae']:.2f} r {rec['r']:.2f}")
    rows.append({"label": label, "real": real[rec["index"]],
                 "gen": gen[rec["index"]],
                 "paretic_side": rec.get("paretic_side") or None})
  return rows


# ------------------------------------------------------------------ Fig. 4
def regression_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Least-squares line through (x, y) and its 95% confidence band for the
  mean on grid (t distribution, n - 2 dof). Returns (fit, lo, hi) [G];
  the band is NaN with fewer than 3 points."""
  ok = np.isfinite(x) & np.isfinite(y)
  x, y = x[ok], y[ok]
  if x.size < 2:
    nan = np.full(grid.shape, np.nan)
    return nan, nan, nan
  slope, icept = np.polyfit(x, y, 1)
  fit = icept + slope * grid
  if x.size < 3:
    return fit, np.full(grid.shape, np.nan), np.full(grid.shape, np.nan)
  resid = y - (icept + slope * x)
  s = math.sqrt(np.sum(resid ** 2) / (x.size - 2))
  sxx = np.sum((x - x.mean()) ** 2)
  se = s * np.sqrt(1.0 / x.size + (grid - x.mean()) ** 2 / sxx)
  half = stats.t.ppf(0.975, x.size - 2) * se
  return fit, fit - half, fit + half


def plot_cadence(path: PathLike, panels: Mapping[str, Mapping[str, Sequence]],
                 *, title: Optional[str] = None) -> str:
  """Cadence vs target speed, real vs generated, one panel per cohort.

  Args:
    panels: cohort -> ``analyses.cadence_by_target`` dict (key = target
      speeds, real, gen in steps/min). Points are means per target speed;
      lines are least-squares fits with 95% CI bands.
  """
  fig = Figure(figsize=(4.2 * max(len(panels), 1), 3.4))
  axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
  for ax, (name, d) in zip(axes, panels.items()):
    x = np.asarray(d["key"], np.float64)
    grid = np.linspace(x.min(), x.max(), 50) if x.size else x
    for key, color, label in (("real", _REAL_COLOR, "real"),
                              ("gen", _GEN_COLOR, "generated")):
      y = np.asarray(d[key], np.float64)
      ax.scatter(x, y, s=14, color=color, label=label)
      fit, lo, hi = regression_band(x, y, grid)
      ax.plot(grid, fit, color=color, lw=1)
      ax.fill_between(grid, lo, hi, color=color, alpha=0.15, lw=0)
    ax.set_title(name.replace("_", "-"), fontsize=10)
    ax.set_xlabel("target speed (m/s)")
    ax.set_ylabel("cadence (steps/min)")
    ax.legend(fontsize=8, frameon=False)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


# ------------------------------------------------------------ Figs. 5 and 6
def _as_heatmap(h) -> analyses.Heatmap:
  if isinstance(h, analyses.Heatmap):
    return h
  return analyses.Heatmap(**{k: np.asarray(v, np.float64) for k, v in h.items()})


def plot_heatmaps(path: PathLike, panels: Mapping[str, Any], *,
                  value_label: str = "MAE (deg)", fmt: str = "{:.1f}",
                  title: Optional[str] = None) -> str:
  """Mean value per (source, target) speed cell, one panel per cohort.

  Args:
    panels: cohort -> ``analyses.Heatmap`` (or its ``to_dict()``). Rows are
      source speeds, columns target speeds; empty cells are white. Cell text
      is written when the grid is at most 12 x 12.
  """
  fig = Figure(figsize=(5.0 * max(len(panels), 1), 4.4))
  axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
  for ax, (name, h) in zip(axes, panels.items()):
    h = _as_heatmap(h)
    cmap = _cmap()
    im = ax.imshow(np.ma.masked_invalid(h.mean), origin="lower", cmap=cmap,
                   aspect="auto")
    ax.set_xticks(range(h.tgt.size), [f"{v:.2f}" for v in h.tgt],
                  rotation=90, fontsize=6)
    ax.set_yticks(range(h.src.size), [f"{v:.2f}" for v in h.src], fontsize=6)
    ax.set_xlabel("target speed (m/s)")
    ax.set_ylabel("source speed (m/s)")
    ax.set_title(name.replace("_", "-"), fontsize=10)
    if max(h.mean.shape) <= 12:
      for (i, j), v in np.ndenumerate(h.mean):
        if np.isfinite(v):
          ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, label=value_label)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def _cmap():
  return colormaps["viridis"].with_extremes(bad="white")


# ------------------------------------------------------------------ Fig. 7
def plot_speed_analysis(path: PathLike,
                        per_source: Mapping[str, Mapping[str, Sequence]],
                        num_sources: Mapping[str, Sequence],
                        speed_difference: Mapping[str, Sequence], *,
                        value_label: str = "MAE (deg)",
                        title: Optional[str] = None) -> str:
  """Three panels of the speed analysis.

  Args:
    per_source: model -> ``analyses.per_source_speed`` dict; (a) grouped bars
      of the mean per source speed, one colour per model (a model without a
      source speed, e.g. a fixed-source baseline, has no bar there).
    num_sources: ``analyses.num_sources_analysis`` dict; (b) bars +- SD of the
      mean over subsets against the number of source speeds.
    speed_difference: ``analyses.per_speed_difference`` dict; (c) bars +- SD
      against |v_tgt - v_src| (bin lower edges).
  """
  fig = Figure(figsize=(13.0, 3.6))
  ax_a, ax_b, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 1, 1.3]})
  speeds = sorted({round(float(k), 3) for d in per_source.values()
                   for k in d["key"]})
  pos = {v: i for i, v in enumerate(speeds)}
  width = 0.8 / max(len(per_source), 1)
  for m, (model, d) in enumerate(per_source.items()):
    xs = [pos[round(float(k), 3)] + (m - (len(per_source) - 1) / 2) * width
          for k in d["key"]]
    ax_a.bar(xs, d["mean"], width=width, label=model)
  ax_a.set_xticks(range(len(speeds)), [f"{v:.2f}" for v in speeds],
                  rotation=90, fontsize=7)
  ax_a.set_xlabel("source speed (m/s)")
  ax_a.set_ylabel(value_label)
  ax_a.set_title("(a) per source speed", fontsize=10)
  ax_a.legend(fontsize=7, frameon=False)

  ax_b.bar([str(k) for k in num_sources["key"]], num_sources["mean"],
           yerr=np.nan_to_num(np.asarray(num_sources["sd"], np.float64)),
           capsize=3, color="tab:blue")
  ax_b.set_xlabel("number of source speeds")
  ax_b.set_ylabel(value_label)
  ax_b.set_title("(b) number of source speeds", fontsize=10)

  keys = [f"{k:.2f}" for k in speed_difference["key"]]
  ax_c.bar(keys, speed_difference["mean"],
           yerr=np.nan_to_num(np.asarray(speed_difference["sd"], np.float64)),
           capsize=2, color="tab:green")
  ax_c.tick_params(axis="x", labelrotation=90, labelsize=7)
  ax_c.set_xlabel("|v_tgt - v_src| (m/s, bin lower edge)")
  ax_c.set_ylabel(value_label)
  ax_c.set_title("(c) speed difference", fontsize=10)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def plot_reliability(path: PathLike,
                     curves: Mapping[str, Mapping[str, Sequence[float]]]
                     ) -> str:
  """Reliability plot: observed vs nominal coverage of the K-sample bands.

  Args:
    curves: label (e.g. 'diffusion / able_bodied') -> ``calibration.
      reliability`` dict {'nominal', 'observed' (t interval), 'observed_z'
      (mean +- z SD)}.
  """
  fig = Figure(figsize=(4.8, 4.4))
  ax = fig.add_subplot(1, 1, 1)
  ax.plot([0, 100], [0, 100], color="0.6", lw=1, ls=":", label="ideal")
  colors = colormaps["tab10"]
  for n, (label, c) in enumerate(curves.items()):
    nom = 100 * np.asarray(c["nominal"], float)
    ax.plot(nom, 100 * np.asarray(c["observed"], float), "o-",
            color=colors(n % 10), label=f"{label} (t interval)")
    if "observed_z" in c:
      ax.plot(nom, 100 * np.asarray(c["observed_z"], float), "s--",
              color=colors(n % 10), alpha=0.6,
              label=f"{label} (mean +- z SD)")
    if "observed_cal" in c:
      ax.plot(nom, 100 * np.asarray(c["observed_cal"], float), "^-.",
              color=colors(n % 10), alpha=0.8,
              label=f"{label} (t interval, SD scaled, LOSO)")
  ax.set_xlim(40, 100)
  ax.set_ylim(0, 100)
  ax.set_xlabel("nominal coverage (%)")
  ax.set_ylabel("observed coverage of the real mean cycle (%)")
  ax.set_title("Calibration of the K-sample bands")
  ax.legend(fontsize=7, loc="upper left")
  return _save(fig, path)


def plot_all(out_dir: PathLike, cohort_results: Mapping[str, Mapping[str, Any]],
             *, per_source_models: Optional[Mapping[str, Mapping]] = None,
             case_arrays: Optional[Mapping[str, Sequence[Mapping]]] = None,
             paretic_sides: Optional[Mapping[str, Optional[str]]] = None,
             rate_hz: float = constants.RATE_HZ) -> Dict[str, str]:
  """Draws every figure the analyses allow; returns name -> path.

  Args:
    cohort_results: cohort -> ``analyses.cohort_analyses`` output of the main
      model.
    per_source_models: model -> cohort -> per_source_speed dict (Fig. 7a);
      defaults to the main model only.
    case_arrays: cohort -> rows for ``plot_cycle_cases`` (Figs. 2-3), e.g.
      from ``case_rows``.
    paretic_sides: cohort -> paretic side of the representative subject
      (default: the rows' own 'paretic_side').
  """
  out_dir = os.fspath(out_dir)
  paths = {}
  if case_arrays:
    for n, (cohort, rows) in enumerate(case_arrays.items()):
      paths[f"cycles_{cohort}"] = plot_cycle_cases(
          os.path.join(out_dir, f"fig{2 + n}_cycles_{cohort}.png"), rows,
          cohort=cohort, paretic_side=(paretic_sides or {}).get(cohort),
          rate_hz=rate_hz)
  paths["cadence"] = plot_cadence(
      os.path.join(out_dir, "fig4_cadence.png"),
      {c: r["cadence_by_target"] for c, r in cohort_results.items()})
  ranks = {c: r["rank_heatmap"] for c, r in cohort_results.items()
           if "rank_heatmap" in r}
  if ranks:
    paths["rank_heatmap"] = plot_heatmaps(
        os.path.join(out_dir, "fig5_rank_heatmap.png"), ranks,
        value_label="personalisation rank")
  paths["mae_heatmap"] = plot_heatmaps(
      os.path.join(out_dir, "fig6_mae_heatmap.png"),
      {c: r["mae_heatmap"] for c, r in cohort_results.items()})
  for cohort, r in cohort_results.items():
    models = {m: d[cohort] for m, d in (per_source_models or {}).items()
              if cohort in d} or {"model": r["per_source_speed"]}
    paths[f"speed_{cohort}"] = plot_speed_analysis(
        os.path.join(out_dir, f"fig7_speed_{cohort}.png"), models,
        r["num_sources"], r["per_speed_difference"],
        title=cohort.replace("_", "-"))
  return paths
