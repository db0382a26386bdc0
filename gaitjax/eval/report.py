"""metrics.json and report.md: analogues of the paper's Tables I-III.

``results`` maps model name -> cohort -> either a list of per-pair records
(``metrics.pair_records``) or a dict {'records': [...], 'summary': {...},
'analyses': {...}} (summary computed when missing). Non-finite numbers are
written to JSON as null; every file is written atomically.
"""
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from gaitjax import constants
from gaitjax import files
from gaitjax.eval import calibration
from gaitjax.eval import metrics
from gaitjax.eval import paired

_DASH = "-"
# Short cohort names for table headers (a terminal is ~120 columns wide).
_ABBREV = {"able_bodied": "AB", "stroke": "ST"}


def _entry(value: Any) -> Dict[str, Any]:
  """A results leaf as {'records', 'summary', ...} with a summary."""
  entry = {"records": list(value)} if isinstance(value, (list, tuple)) else dict(value)
  entry.setdefault("records", [])
  if "summary" not in entry:
    entry["summary"] = metrics.summarize(entry["records"])
  return entry


def _cohorts(results: Mapping[str, Mapping[str, Any]]) -> List[str]:
  seen = {c: None for r in results.values() for c in r}
  known = [c for c in constants.COHORTS if c in seen]
  return known + [c for c in seen if c not in known]


def _num(x: Any, fmt: str = "{:.2f}") -> str:
  return fmt.format(x) if x is not None and np.isfinite(x) else _DASH


def _metric(summary: Mapping[str, Any], key: str) -> float:
  m = summary.get("metrics", {}).get(key)
  return m["mean"] if m else math.nan


# ------------------------------------------------------------------ tables
def format_table(headers: Any, rows: Optional[Sequence[Sequence[Any]]] = None,
                 *, title: Optional[str] = None) -> str:
  """Fixed-width markdown table (also readable in a terminal).

  ``format_table(headers, rows)`` formats any table; ``format_table(results)``
  (a results mapping, as ``write_report`` takes) gives Table I with its
  legend (``format_overall``), which is what the quickstart prints.
  """
  if rows is None:
    if not isinstance(headers, Mapping):
      raise TypeError("format_table: give (headers, rows) or a results mapping")
    return format_overall(headers)
  cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
  widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

  def line(r):
    return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

  out = [line(cells[0]),
         "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
  out += [line(r) for r in cells[1:]]
  if title:
    out = [title, ""] + out
  return "\n".join(out)


def overall_table(results: Mapping[str, Mapping[str, Any]]
                  ) -> Tuple[List[str], List[List[str]]]:
  """Table I: one row per model; per cohort MAE (deg), r, rank / cohort
  size, rank with randomised encoding, cadence error (steps/min and %)."""
  cohorts = _cohorts(results)
  headers = ["model"]
  for c in cohorts:
    a = _ABBREV.get(c, c)
    headers += [f"{a} MAE (deg)", f"{a} r", f"{a} rank", f"{a} rank rand",
                f"{a} cadence err"]
  rows = []
  for model, by_cohort in results.items():
    row = [model]
    for c in cohorts:
      if c not in by_cohort:
        row += [_DASH] * 5
        continue
      h = _entry(by_cohort[c])["summary"]["headline"]
      rank = _num(h["rank"], "{:.1f}")
      if rank != _DASH and np.isfinite(h["cohort_size"]):
        rank += f" / {h['cohort_size']:.0f}"
      cad = _DASH
      if np.isfinite(h["cadence_mae"]):
        cad = f"{h['cadence_mae']:.1f} ({_num(h['cadence_pct'], '{:.1f}')}%)"
      row += [_num(h["mae"]), _num(h["r"]), rank,
              _num(h["rank_random"], "{:.1f}"), cad]
    rows.append(row)
  return headers, rows


def joint_table(summary: Mapping[str, Any], cohort: str
                ) -> Tuple[List[str], List[List[str]]]:
  """Table II: rows hip/knee/ankle/overall; MAE and r per side
  (paretic / non-paretic for stroke, right / left otherwise)."""
  sides = (("paretic", "non_paretic") if cohort == "stroke"
           and "mae_paretic" in summary.get("metrics", {}) else ("right", "left"))
  names = [s.replace("_", "-") for s in sides]
  headers = (["joint"] + [f"MAE {n} (deg)" for n in names]
             + [f"r {n}" for n in names])
  rows = []
  for joint in constants.JOINTS + ("overall",):
    keys = [f"{joint}_{s}" if joint != "overall" else s for s in sides]
    rows.append([joint] + [_num(_metric(summary, f"mae_{k}")) for k in keys]
                + [_num(_metric(summary, f"r_{k}")) for k in keys])
  return headers, rows


def rank_table(results: Mapping[str, Mapping[str, Any]]
               ) -> Tuple[List[str], List[List[str]]]:
  """Table III: subject vs randomised encoding rank per model and cohort."""
  headers = ["model", "cohort", "subject encoding", "randomised encoding",
             "cohort size"]
  rows = []
  for model, by_cohort in results.items():
    for c in _cohorts({model: by_cohort}):
      h = _entry(by_cohort[c])["summary"]["headline"]
      if np.isfinite(h["rank"]) or np.isfinite(h["rank_random"]):
        rows.append([model, c, _num(h["rank"], "{:.1f}"),
                     _num(h["rank_random"], "{:.1f}"),
                     _num(h["cohort_size"], "{:.0f}")])
  return headers, rows


_LEGEND = ("AB = able-bodied, ST = stroke. MAE: gait-cycle-normalised, deg. "
           "rank: personalisation rank (1 = own subject closest) / number of "
           "subjects compared; rank rand: with a randomly chosen other "
           "subject's source encoded. cadence err: mean |generated - real| "
           "in steps/min (mean % of real).")


def format_overall(results: Mapping[str, Mapping[str, Any]]) -> str:
  """Table I as text, for the terminal."""
  return format_table(*overall_table(results),
                      title="Overall results (means over pairs)") + (
                          "\n" + _LEGEND)


# The rows the printed summary compares the main model with: does it beat
# the formula baselines, person by person?
PRINTED_PAIRED_ROWS = ("cycle_template", "cycle_regression")


def format_paired(results: Mapping[str, Mapping[str, Any]], main: str,
                  against: Sequence[str] = PRINTED_PAIRED_ROWS) -> str:
  """The by-subject comparison of ``main`` with the ``against`` rows, as
  text for the terminal ('' when none of them was evaluated)."""
  entries = {m: {c: _entry(v) for c, v in by.items()}
             for m, by in results.items() if m in (main, *against)}
  comparisons = {k: v for k, v in paired.compare_rows(entries, main).items()
                 if k in against}
  headers, rows = paired_table(comparisons)
  if not rows:
    return ""
  return format_table(headers, rows, title=f"{main} minus each row, by "
                      f"subject (same pairs; negative = {main} better)")


def dv_table(entries: Mapping[str, Mapping[str, Any]]
             ) -> Tuple[List[str], List[List[str]]]:
  """MAE (deg) per |dv| bin: one row per model and cohort, 'mean (n)'."""
  headers = ["model", "cohort"] + list(calibration.DV_BINS)
  rows = []
  for model, by in entries.items():
    for c in _cohorts({model: by}):
      bins = calibration.dv_bins(_entry(by[c])["records"])
      rows.append([model, _ABBREV.get(c, c)] + [
          f"{_num(bins[b]['mean'])} ({bins[b]['n']})" if bins[b]["n"]
          else _DASH for b in calibration.DV_BINS])
  return headers, rows


def calibration_table(entries: Mapping[str, Mapping[str, Any]]
                      ) -> Tuple[List[str], List[List[str]]]:
  """Observed coverage (%) of the K-sample bands at each nominal level:
  't' = t prediction interval, 'z' = mean +- z SD."""
  levels = calibration.LEVELS
  headers = (["model", "cohort", "pairs"]
             + [f"{100 * lv:.0f}% t" for lv in levels]
             + [f"{100 * lv:.0f}% z" for lv in levels]
             + [f"{100 * lv:.0f}% cal" for lv in levels] + ["SD scale"])
  rows = []
  for model, by in entries.items():
    for c in _cohorts({model: by}):
      rel = calibration.reliability(_entry(by[c])["records"], levels)
      if rel is None:
        continue
      rows.append([model, _ABBREV.get(c, c), str(rel["n"])]
                  + [_num(100 * v, "{:.1f}") for v in rel["observed"]]
                  + [_num(100 * v, "{:.1f}") for v in rel["observed_z"]]
                  + [_num(100 * v, "{:.1f}") for v in rel.get(
                      "observed_cal", [math.nan] * len(levels))]
                  + [_num(_entry(by[c])["summary"].get("band_scale",
                                                        math.nan), "{:.2f}")])
  return headers, rows


def paired_table(comparisons: Mapping[str, Mapping[str, Mapping[str, Any]]]
                 ) -> Tuple[List[str], List[List[str]]]:
  """One row per (other row, cohort) of ``paired.compare_rows``."""
  headers = ["vs", "cohort", "pairs", "subjects", "mean diff",
             f"{100 * paired.CI_LEVEL:.0f}% CI (subjects)",
             "subjects better / worse", "worst subject", "diff without it"]
  rows = []
  for other, by_cohort in comparisons.items():
    for c, r in by_cohort.items():
      rows.append([
          other, _ABBREV.get(c, c), str(r["num_pairs"]),
          str(r["num_subjects"]), _num(r["diff"], "{:+.3f}"),
          f"[{_num(r['ci'][0], '{:+.3f}')}, {_num(r['ci'][1], '{:+.3f}')}]",
          f"{r['subjects_better']} / {r['subjects_worse']}",
          f"{r['worst_subject']} {_num(r['worst_diff'], '{:+.2f}')}",
          (_num(r["diff_without_worst"], "{:+.3f}")
           if r["diff_without_worst"] is not None else _DASH)])
  return headers, rows


# ------------------------------------------------------------------ writer
def _nan_section(results) -> List[str]:
  lines = []
  for model, by_cohort in results.items():
    for c, value in by_cohort.items():
      s = _entry(value)["summary"]
      for group, reasons in sorted(s["nan_reasons"].items()):
        for why, n in sorted(reasons.items()):
          lines.append(f"- {model} / {c}: {group} NaN in {n} of "
                       f"{s['num_records']} pairs: {why}")
  return lines or ["- none"]


def write_report(out_dir: str, results: Mapping[str, Mapping[str, Any]],
                 extra: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
  """Writes metrics.json and report.md into out_dir.

  Args:
    out_dir: folder (created).
    results: model -> cohort -> records list or {'records', 'summary',
      'analyses'} (see module docstring).
    extra: optional {'figures': {name: path}, 'main_model': str,
      'notes': [str], ...}; everything is also stored in metrics.json.
  Returns:
    {'metrics': path, 'report': path}.
  """
  extra = dict(extra or {})
  os.makedirs(out_dir, exist_ok=True)
  entries = {m: {c: _entry(v) for c, v in by.items()} for m, by in results.items()}
  main = extra.get("main_model") or next(iter(entries), None)
  comparisons = paired.compare_rows(entries, main) if main else {}
  doc = {"models": entries, "extra": extra,
         "paired_by_subject": {"main": main, "value": "mae",
                               "rows": comparisons},
         "mae_by_dv_bin": {m: {c: calibration.dv_bins(e["records"])
                               for c, e in by.items()}
                           for m, by in entries.items()},
         "calibration": calibration.curves(entries),
         "nan_counts": {m: {c: {k: v["n_nan"] for k, v in
                                e["summary"]["metrics"].items() if v["n_nan"]}
                            for c, e in by.items()}
                        for m, by in entries.items()}}
  metrics_path = os.path.join(out_dir, "metrics.json")
  files.atomic_write_text(metrics_path,
                        json.dumps(files.to_jsonable(doc, finite_only=True),
                                   indent=1, allow_nan=False))

  md = ["# gaitjax evaluation report", ""]
  md += [format_table(*overall_table(entries),
                      title="## Table I. Overall results (means over pairs)"), ""]
  md += [_LEGEND, ""]
  if main is not None:
    for c, e in entries[main].items():
      md += [format_table(*joint_table(e["summary"], c),
                          title=f"## Table II. Joints, {c} ({main})"), ""]
  md += [format_table(*dv_table(entries),
                      title="## MAE (deg) by |v_tgt - v_src| bin (m/s), "
                      "mean (pairs)"), ""]
  headers, rows = paired_table(comparisons)
  if rows:
    md += [format_table(headers, rows, title=f"## Paired by subject: {main} "
                        "minus each row, cycle MAE (deg)"), "",
           f"Same pairs; negative = {main} better. The interval resamples "
           "subjects (a person's pairs are not independent). A subject is "
           f"better / worse by the mean of its pairs; 'worst subject' is the "
           f"subject where {main} is furthest behind.", ""]
  headers, rows = calibration_table(entries)
  if rows:
    md += [format_table(headers, rows, title="## Calibration: observed "
                        "coverage (%) of the real mean cycle by the K-sample "
                        "bands"), "",
           "t: mean +- t_{K-1} SD sqrt(1 + 1/K) (a prediction interval: "
           "exact for draws from the true distribution); z: mean +- z SD "
           "(under-covers at small K even when calibrated). SD across the "
           "K samples' mean cycles, per cycle point.", ""]
  headers, rows = rank_table(entries)
  if rows:
    md += [format_table(headers, rows, title="## Table III. Personalisation "
                        "rank, subject vs randomised encoding"), ""]
  md += ["## NaN values", ""] + _nan_section(entries) + [""]
  figures = extra.get("figures") or {}
  if figures:
    md += ["## Figures", ""]
    for name, path in figures.items():
      rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))
      md += [f"- [{name}]({rel})", f"  ![{name}]({rel})"]
    md.append("")
  for note in extra.get("notes", []):
    md.append(f"- {note}")
  report_path = os.path.join(out_dir, "report.md")
  files.atomic_write_text(report_path, "\n".join(md).rstrip() + "\n")
  return {"metrics": metrics_path, "report": report_path}
