"""The evaluation job: models and simple baselines over held-out pairs.

    from gaitjax.eval import evaluate
    results = evaluate.evaluate({"diffusion": "runs/cpu", "tcn": "runs/tcn"},
                                data_dir="data", out_dir="eval/cpu")

For each cohort (able-bodied: the ``split`` of ``able_bodied_dataset``;
stroke: the 'test' split of ``stroke_dataset``, i.e. every stroke subject,
normalised with the STROKE statistics and with no fine-tuning, paper II.C)
every model generates every within-subject (source, target) pair, and
``gaitjax.eval.metrics`` scores each pair (MAE, r per joint and side or
paretic side, cadence, personalisation rank against every subject of the
cohort, all splits, at the target speed). The report folder gets
``metrics.json``, ``report.md`` (``gaitjax.eval.report``) and
``figures/fig*.png`` (``gaitjax.eval.figures``).

Models. Every checkpoint (diffusion, MLP or TCN: ``gaitjax.generate.Generator``
runs all three) and, unless ``simple_baselines=False``, three baselines that
need no training beyond the population template:

* ``copy_source``: the source itself (x_gen = x_src).
* ``population_mean``: the training population's mean cycle at the target
  speed, tiled at the population cadence at the target speed.
* ``cycle_template``: ``reference.template_baseline``: the subject's mean
  source cycle plus the population change of the mean cycle, tiled at the
  subject's cadence times the population's cadence ratio.

Their TemplateModel is the first diffusion checkpoint's (else any
checkpoint's); without one it is fitted on the able-bodied 'train' split.
Extra baseline rows (``gaitjax.eval.extra_rows``, unless
``extra_baselines=False``): ``cycle_regression`` (PCA-ridge in cycle space,
fitted on the evaluated able-bodied dataset's 'train' split), and on a
synthetic able-bodied build ``bound`` (what the subject's persistent traits
predict) and ``noise_floor`` (a second recording at the target speed).

Calibration (K = ``num_samples`` >= 2, non-deterministic models): records
get ``coverage_<L>`` / ``coverage_z_<L>`` (``gaitjax.eval.calibration``).
Checkpoints trained from fixed source speeds (the MLP/TCN baselines,
``config.data.source_speeds``, paper II.G) are evaluated only on pairs whose
source is at one of those speeds.

Pairs. All within-subject pairs, or with ``max_pairs`` > 0 a deterministic
stratified subset per cohort (``selection.select_pairs``, see there).

Randomised encoding (paper III.C, Table III). For every evaluated source
trial, another subject of the same split is drawn at random (seeded; from the
whole cohort when the split has one subject) and its trial closest to the
source speed replaces the source, with the same source and target speeds;
the samples' personalisation rank is computed for the TRUE subject
(record key ``rank_random``). One random subject per source trial serves all
of that trial's targets, so they share one generator call. For stroke only
pairs between base speeds (0.3, 0.6, 0.9, 1.2 m/s) are used (paper III.C);
the others have ``rank_random`` NaN with that reason.

Generation. All targets of one source trial go into one ``generate`` call
(sources with the same number of targets are batched together). With
``num_samples`` K > 1 the metrics are computed on the mean of the K samples;
``gen_sd`` records their mean standard deviation (degrees). Stroke targets
outside the able-bodied training speed range are generated anyway
(``allow_extrapolation``) and flagged in the record field ``extrapolated``.
"""
import dataclasses
import logging
import math
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

import gaitjax
from gaitjax import constants
from gaitjax.data import dataset as dataset_lib
from gaitjax.data import pairs as pairs_lib
from gaitjax.data import reference
from gaitjax.data.dataset import TrialSet
from gaitjax.errors import ConfigError, DataError
from gaitjax.eval import analyses
from gaitjax.eval import calibration
from gaitjax.eval import extra_rows
from gaitjax.eval import figures
from gaitjax.eval import generators as generators_lib
from gaitjax.eval import metrics
from gaitjax.eval import report
from gaitjax.eval import selection
from gaitjax.eval import simple_baselines as simple_lib
from gaitjax.gait import cycles
from gaitjax.progress import Progress

Record = Dict[str, Any]
Results = Dict[str, Dict[str, Dict[str, Any]]]



# ----------------------------------------------------------------- metrics
def _pair_meta(ts: TrialSet, pairs: np.ndarray) -> Dict[str, list]:
  s, t = pairs[:, 0], pairs[:, 1]
  return {"subject": [str(v) for v in ts.subject[s]],
          "v_src": [float(v) for v in ts.speed[s]],
          "v_tgt": [float(v) for v in ts.speed[t]],
          "cohort": [str(v) for v in ts.cohort[s]],
          "paretic_side": [str(v or "") for v in ts.paretic_side[s]]}


def score_pairs(real: np.ndarray, gen: np.ndarray, meta: Mapping[str, list],
                bank: metrics.ReferenceBank, *, rate_hz: float,
                label: str = "") -> List[Record]:
  """metrics.pair_records in chunks, with progress lines."""
  records, n, chunk = [], real.shape[0], 64
  progress = Progress(f"{label} scored pairs", n)
  for i in range(0, n, chunk):
    sub = {k: v[i:i + chunk] for k, v in meta.items()}
    recs = metrics.pair_records(real[i:i + chunk], gen[i:i + chunk], sub,
                                rate_hz=rate_hz, bank=bank)
    for j, rec in enumerate(recs):
      rec["index"] = i + j
    records += recs
    progress.update(min(i + chunk, n))
  return records


def randomised_ranks(gen, data: selection.CohortData, pairs: np.ndarray,
                     bank: metrics.ReferenceBank, *, num_samples: int,
                     seed: int, rate_hz: float, label: str = ""
                     ) -> Tuple[List[metrics.RankResult], List[str]]:
  """Personalisation ranks with a random other subject's source encoded.

  Returns ([P] RankResult for the true subjects, [P] random subject names
  ('' where not evaluated)).
  """
  ts = data.eval_set
  eligible = np.ones(len(pairs), bool)
  if data.name == "stroke":
    eligible = (selection.speed_mask(ts.speed[pairs[:, 0]], selection.STROKE_BASE_SPEEDS)
                & selection.speed_mask(ts.speed[pairs[:, 1]], selection.STROKE_BASE_SPEEDS))
  ranks = [metrics.RankResult(math.nan, 0, "randomised encoding: stroke "
                              "pairs use the base speeds only")] * len(pairs)
  names = [""] * len(pairs)
  if not eligible.any():
    return ranks, names
  sel = np.flatnonzero(eligible)
  src_trials, slot = np.unique(pairs[sel, 0], return_inverse=True)
  x_rand, subj_rand, _ = selection.random_source_trials(
      ts, src_trials, seed=seed, pool=data.pool)
  out = generators_lib.generate_pairs(gen, x_rand, ts.speed[src_trials], slot,
                       ts.speed[pairs[sel, 1]], cohort=data.name,
                       num_samples=num_samples, seed=seed + 1,
                       label=f"{label} randomised", calibrate=False)
  true_subjects = [str(s) for s in ts.subject[pairs[sel, 0]]]
  rr = metrics.rank_samples(out["gen"], true_subjects, ts.speed[pairs[sel, 1]],
                            bank, rate_hz=rate_hz)
  for k, p in enumerate(sel):
    ranks[p] = rr[k]
    names[p] = str(subj_rand[slot[k]])
  return ranks, names


# -------------------------------------------------------------------- job
@dataclasses.dataclass
class _CohortRun:
  data: selection.CohortData
  bank: metrics.ReferenceBank
  pairs: np.ndarray                 # [P, 2] the common pair set
  num_all_pairs: int


def _cohort_run(data: selection.CohortData, max_pairs: int, seed: int,
                rate_hz: float) -> _CohortRun:
  ts = data.eval_set
  if len(ts) == 0:
    raise DataError(f"{data.dataset or data.name} split {data.split!r}: no "
                    f"trials to evaluate")
  all_pairs = pairs_lib.within_subject_pairs(ts)
  chosen = selection.select_pairs(ts, max_pairs, seed=seed,
                        bin_width=analyses.default_bin(data.name))
  logging.info("%s: %d subjects, %d trials, %d of %d pairs; ranking against "
               "%d subjects", data.name, ts.num_subjects, len(ts), len(chosen),
               len(all_pairs), data.pool.num_subjects)
  bank = metrics.build_reference_bank(data.pool.x, data.pool.subject,
                                      data.pool.speed, rate_hz=rate_hz)
  return _CohortRun(data, bank, chosen, len(all_pairs))


def _model_pairs(gen, run: _CohortRun, max_pairs: int, seed: int
                 ) -> Tuple[np.ndarray, str]:
  """The pairs a model is evaluated on, and a note when they differ."""
  speeds = generators_lib.fixed_source_speeds(gen)
  if not speeds:
    return run.pairs, ""
  ts = run.data.eval_set
  allowed = pairs_lib.allowed_sources(ts, speeds)
  cand = pairs_lib.within_subject_pairs(ts)
  cand = cand[allowed[cand[:, 0]]]
  if not len(cand):
    return cand, (f"no {run.data.name} source within "
                  f"{selection.SPEED_TOL_MPS} m/s of its fixed source speeds {speeds}")
  chosen = selection.select_pairs(ts, max_pairs, seed=seed, candidates=cand,
                        bin_width=analyses.default_bin(run.data.name))
  return chosen, (f"{run.data.name}: only sources at its fixed source "
                  f"speeds {speeds} ({len(chosen)} pairs)")


def evaluate_model(name: str, gen, run: _CohortRun, pairs: np.ndarray, *,
                   num_samples: int, seed: int, rate_hz: float,
                   randomised_encoding: bool) -> Dict[str, Any]:
  """Records of one model on one cohort, plus the arrays behind them."""
  ts, cohort = run.data.eval_set, run.data.name
  label = f"[{name}/{cohort}]"
  t0 = time.time()
  src_trials, slot = np.unique(pairs[:, 0], return_inverse=True)
  out = generators_lib.generate_pairs(gen, ts.x[src_trials], ts.speed[src_trials], slot,
                       ts.speed[pairs[:, 1]], cohort=cohort,
                       num_samples=num_samples, seed=seed, label=label,
                       rate_hz=rate_hz)
  t_gen = time.time() - t0
  real = ts.x[pairs[:, 1]]
  records = score_pairs(real, out["gen"], _pair_meta(ts, pairs), run.bank,
                        rate_hz=rate_hz, label=label)
  for rec, sd, ex in zip(records, out["sd"], out["extrapolated"]):
    rec["gen_sd"] = float(sd)
    rec["extrapolated"] = bool(ex)
  if "sample_cycles" in out:
    us, ks = [], []
    for rec, x_real, sc in zip(records, real, out["sample_cycles"]):
      fields, why = calibration.pair_fields(x_real, sc, rate_hz=rate_hz)
      rec.update(fields)
      if why:
        rec["reasons"]["coverage"] = why
      u, k = calibration.normalised_errors(
          cycles.mean_cycles(np.asarray(x_real, np.float64), rate_hz).mean,
          sc)
      us.append(u)
      ks.append(k)
    for rec, fields in zip(records, calibration.calibrated_fields(
        us, ks, [r["subject"] for r in records])):
      rec.update(fields)
    band_scale = calibration.fit_band_scale(us, ks)
  else:
    band_scale = None
  if randomised_encoding:
    ranks, names = randomised_ranks(gen, run.data, pairs, run.bank,
                                    num_samples=num_samples, seed=seed,
                                    rate_hz=rate_hz, label=label)
    records = metrics.attach_ranks(records, ranks, key="rank_random")
    for rec, rs in zip(records, names):
      rec["random_subject"] = rs
  result = {"records": records, "real": real, "gen": out["gen"],
            "seconds": {"generate": t_gen, "total": time.time() - t0}}
  if band_scale is not None:
    result["band_scale"] = band_scale
  return result


def evaluate_cohorts(generators: Mapping[str, Any],
                     cohorts: Sequence[selection.CohortData], *,
                     template: Optional[reference.TemplateModel] = None,
                     template_source: str = "",
                     out_dir: Optional[str] = None, max_pairs: int = 0,
                     num_samples: int = 1, seed: int = 0,
                     simple_baselines: bool = True,
                     randomised_encoding: bool = True,
                     make_figures: bool = True,
                     settings: Optional[Mapping[str, Any]] = None,
                     notes: Sequence[str] = (),
                     extra_rows: Optional[Mapping[str, Any]] = None
                     ) -> Results:
  """Evaluates generators (and the simple baselines) on in-memory cohorts.

  Args:
    generators: name -> object with Generator.generate's contract.
    cohorts: the cohorts' data (``selection.load_cohort``).
    template: population template of the simple baselines (default: from a
      checkpoint, see ``generators_lib.choose_template``).
    out_dir: report folder; None writes nothing.
    max_pairs, num_samples, seed, simple_baselines, randomised_encoding:
      see ``evaluate``.
    make_figures: draw figures/fig*.png.
    settings: recorded in metrics.json.
    notes: extra lines for the report.
    extra_rows: more baseline rows (``extra_rows.build_rows``); a row with
      a ``cohorts`` attribute runs only on those cohorts.

  Returns:
    model -> cohort -> {'records', 'summary', 'analyses'} (what
    report.write_report takes).
  """
  if max_pairs < 0:
    raise ConfigError(f"max_pairs must be >= 0 (0 = all pairs), got "
                      f"{max_pairs}")
  if int(num_samples) < 1:
    raise ConfigError(f"num_samples must be >= 1, got {num_samples}")
  if not cohorts:
    raise DataError("no cohort to evaluate")
  models: Dict[str, Any] = {}
  for name, gen in generators.items():
    simple_lib.check_model_name(name)
    models[name] = gen
  rate_hz = float(next((generators_lib.config_get(g, "data", "rate_hz") for g in
                        models.values() if generators_lib.config_get(g, "data", "rate_hz")),
                       constants.RATE_HZ))
  if simple_baselines:
    if template is None:
      template, template_source = generators_lib.choose_template(models)
    if template is None:
      raise DataError("simple baselines need a population template: give a "
                      "checkpoint with one, or the able-bodied train split")
    for b in simple_lib.SIMPLE_BASELINES:
      models[b] = simple_lib.SimpleBaseline(b, template, rate_hz)
  for name, row in (extra_rows or {}).items():
    models[name] = row
  if not models:
    raise ConfigError("nothing to evaluate: no checkpoint and no simple "
                      "baselines")
  notes: List[str] = list(notes)
  for data in cohorts:
    for name, gen in models.items():
      note = generators_lib.check_compatible(name, gen, data)
      if note:
        notes.append(note)
  main = next((n for n, g in models.items() if generators_lib.model_kind(g) == "diffusion"),
              next(iter(models)))

  results: Results = {name: {} for name in models}
  arrays: Dict[str, Dict[str, Any]] = {}
  info: Dict[str, Any] = {"cohorts": {}, "models": {}, "timing": {}}
  job_start = time.time()
  for data in cohorts:
    run = _cohort_run(data, max_pairs, seed, rate_hz)
    ts = data.eval_set
    n_ident = int(np.sum(run.pairs[:, 0] == run.pairs[:, 1]))
    info["cohorts"][data.name] = {
        "dataset": data.dataset, "split": data.split,
        "num_subjects": ts.num_subjects, "subjects": list(ts.subjects),
        "num_trials": len(ts), "num_pairs_all": run.num_all_pairs,
        "num_pairs": int(len(run.pairs)), "num_identity_pairs": n_ident,
        "rank_cohort_subjects": data.pool.num_subjects,
        "rank_bank_skipped": run.bank.skipped,
        "speeds": sorted({round(float(v), 3) for v in ts.speed})}
    if randomised_encoding and ts.num_subjects < 2:
      notes.append(f"{data.name}: the {data.split} split has one subject; "
                   f"randomised encoding draws from all the cohort's "
                   f"subjects")
    if len(run.pairs) < run.num_all_pairs:
      notes.append(
          f"{data.name}: stratified subset of {len(run.pairs)} of "
          f"{run.num_all_pairs} pairs ({n_ident} identity); MAE vs number "
          f"of source speeds (Fig. 7b) uses only these pairs")
    for m, (name, gen) in enumerate(models.items()):
      if data.name not in getattr(gen, "cohorts", (data.name,)):
        continue
      pairs, note = _model_pairs(gen, run, max_pairs, seed)
      if note:
        notes.append(f"{name}: {note}")
      if not len(pairs):
        continue
      ev = evaluate_model(name, gen, run, pairs, num_samples=num_samples,
                          seed=seed, rate_hz=rate_hz,
                          randomised_encoding=randomised_encoding)
      recs = ev["records"]
      entry = {"records": recs, "summary": metrics.summarize(recs)}
      if "band_scale" in ev:
        entry["summary"]["band_scale"] = ev["band_scale"]
      ana = analyses.cohort_analyses(recs, data.name)
      if name != main:
        ana.pop("num_sources", None)     # Fig. 7b: the main model only
      entry["analyses"] = ana
      results[name][data.name] = entry
      if name == main:
        arrays[data.name] = ev
      info["timing"].setdefault(name, {})[data.name] = ev["seconds"]
      h = entry["summary"]["headline"]
      logging.info("[%s/%s] %d pairs: MAE %.2f deg, r %.3f, rank %.2f / "
                   "%.0f, randomised rank %.2f (%d/%d models, %.0f s so far)",
                   name, data.name, len(recs), h["mae"], h["r"], h["rank"],
                   h["cohort_size"], h["rank_random"], m + 1, len(models),
                   time.time() - job_start)
  results = {name: by for name, by in results.items() if by}
  for name, gen in models.items():
    info["models"][name] = _model_info(gen)
  if simple_baselines:
    notes.append(f"simple baselines use the population template of "
                 f"{template_source or 'the able-bodied train split'}")
  if num_samples > 1:
    notes.append(f"metrics are computed on the mean of {num_samples} "
                 f"samples per pair")
  if out_dir is not None:
    write_outputs(out_dir, results, arrays, main=main, notes=notes,
                  info=info, settings=settings, make_figures=make_figures,
                  rate_hz=rate_hz)
  return results


def _model_info(gen) -> Dict[str, Any]:
  out = {"kind": generators_lib.model_kind(gen)}
  bundle = getattr(gen, "bundle", None)
  if bundle is not None:
    out["path"] = str(getattr(bundle, "path", ""))
  for attr in ("step", "checksum"):
    try:
      value = getattr(gen, attr, None)
    except Exception:   # a partially loaded checkpoint: leave it out
      value = None
    if value is not None:
      out[attr] = value
  steps = generators_lib.config_get(gen, "sampling", "num_steps")
  if steps is not None and out["kind"] == "diffusion":
    out["ddim_steps"] = int(steps)
    out["ddim_eta"] = float(generators_lib.config_get(gen, "sampling", "eta", default=0.0))
    out["temperature"] = float(generators_lib.config_get(gen, "sampling", "temperature",
                                           default=1.0))
  speeds = generators_lib.fixed_source_speeds(gen)
  if speeds:
    out["generators_lib.fixed_source_speeds"] = list(speeds)
  return out


def write_outputs(out_dir: str, results: Results,
                  arrays: Mapping[str, Mapping[str, Any]], *, main: str,
                  notes: Sequence[str], info: Mapping[str, Any],
                  settings: Optional[Mapping[str, Any]], make_figures: bool,
                  rate_hz: float) -> Dict[str, str]:
  """figures/*.png, then metrics.json and report.md."""
  paths: Dict[str, str] = {}
  if make_figures and main in results:
    cohort_ana = {c: e["analyses"] for c, e in results[main].items()}
    per_source = {m: {c: e["analyses"]["per_source_speed"]
                      for c, e in by.items()} for m, by in results.items()}
    cases = {}
    for c, e in results[main].items():
      rc = e["analyses"].get("representative_cases", {})
      if "best" in rc and c in arrays:
        cases[c] = figures.case_rows(e["records"], arrays[c]["real"],
                                     arrays[c]["gen"], rc)
    paths = figures.plot_all(os.path.join(out_dir, "figures"), cohort_ana,
                             per_source_models=per_source, case_arrays=cases,
                             rate_hz=rate_hz)
  rel = calibration.curves(results) if make_figures else {}
  if rel:
    paths["reliability"] = figures.plot_reliability(
        os.path.join(out_dir, "figures", "fig8_reliability.png"), rel)
  extra = {"main_model": main, "figures": paths, "notes": list(notes),
           "settings": dict(settings or {}),
           "gaitjax_version": gaitjax.__version__}
  extra.update(info)
  return report.write_report(out_dir, results, extra)


def evaluate(models: Mapping[str, Any], *, data_dir: str, out_dir: str,
             able_bodied_dataset: str = "synthetic_able_bodied",
             stroke_dataset: Optional[str] = "synthetic_stroke",
             split: str = "test", max_pairs: int = 0,
             speed_subset: Optional[Sequence[float]] = None,
             num_samples: int = 1, seed: int = 0,
             simple_baselines: bool = True, randomised_encoding: bool = True,
             num_steps: Optional[int] = None, which: Any = "best",
             temperature: Optional[float] = None,
             make_figures: bool = True, extra_baselines: bool = True,
             cohorts: Sequence[str] = (),
             regression_dataset: Optional[str] = None) -> Results:
  """Evaluates checkpoints and baselines; writes the report folder.

  Args:
    models: name -> checkpoint (training workdir) or a generator object.
    data_dir: the folder launch/build_data.py wrote.
    out_dir: report folder (metrics.json, report.md, figures/).
    able_bodied_dataset: built dataset of the able-bodied cohort.
    stroke_dataset: built stroke dataset ('test' = every stroke subject), or
      None / '' to skip the stroke cohort.
    split: able-bodied split evaluated.
    max_pairs: 0 = every within-subject pair; else a stratified subset of at
      most this many per cohort (see the module docstring).
    speed_subset: only trials within 0.026 m/s of these speeds.
    num_samples: samples per pair (metrics use their mean).
    seed: seeds generation, pair subsets and randomised encoding.
    simple_baselines: add copy_source, population_mean, cycle_template.
    randomised_encoding: compute rank_random (Table III).
    num_steps: DDIM step override for diffusion checkpoints.
    temperature: initial-noise scale override (config.sampling.temperature).
    which: 'best' | 'latest' | step of each checkpoint.
    make_figures: draw the figures.
    extra_baselines: with simple_baselines, also the rows of
      ``gaitjax.eval.extra_rows`` (cycle_regression; bound and noise_floor
      on a synthetic build).
    regression_dataset: fit cycle_regression on this dataset's 'train'
      split instead of able_bodied_dataset's.
    cohorts: when given ('able_bodied', 'stroke'), every cohort is read from
      ``able_bodied_dataset`` (one folder build holding both): able-bodied
      from ``split``, stroke from 'test'; ``stroke_dataset`` is ignored.

  Returns:
    model -> cohort -> {'records', 'summary', 'analyses'}.
  """
  if max_pairs < 0:
    raise ConfigError(f"--max_pairs must be >= 0 (0 = all pairs), got "
                      f"{max_pairs}")
  if not models and not simple_baselines:
    raise ConfigError("nothing to evaluate: give --checkpoints or drop "
                      "--no_simple_baselines")
  selected, cohorts = tuple(cohorts), []
  wanted = [("able_bodied", able_bodied_dataset, split)]
  if stroke_dataset:
    wanted.append(("stroke", stroke_dataset, "test"))
  if selected:
    bad = sorted(set(selected) - {"able_bodied", "stroke"})
    if bad:
      raise ConfigError(f"--cohorts: unknown cohort(s) {bad}; expected "
                        f"able_bodied, stroke")
    wanted = [(c, able_bodied_dataset, split if c == "able_bodied"
               else "test") for c in ("able_bodied", "stroke")
              if c in selected]
    stroke_dataset = able_bodied_dataset if "stroke" in selected else None
  skipped = []
  for cohort, dataset, sp in wanted:
    data = selection.load_cohort(data_dir, dataset, sp, cohort)
    sub = selection.restrict_speeds(data.eval_set, speed_subset)
    if sub is None:
      skipped.append(f"{dataset} {sp}")
      continue
    cohorts.append(dataclasses.replace(data, eval_set=sub))
  if not cohorts:
    raise DataError(f"--speeds={','.join(str(v) for v in speed_subset)}: no "
                    f"trial within {selection.SPEED_TOL_MPS} m/s of them in "
                    f"{' or '.join(skipped)}")
  # Data first: its errors are cheaper to find than a checkpoint's load.
  generators = generators_lib.load_generators(
      models, num_steps=num_steps, which=which, temperature=temperature)
  template, template_source = generators_lib.choose_template(generators)
  if simple_baselines and template is None:
    train = dataset_lib.load_split(data_dir, able_bodied_dataset, "train")
    template = reference.TemplateModel.fit(train)
    template_source = f"{able_bodied_dataset} train split (fitted here)"
  settings = {"data_dir": os.fspath(data_dir),
              "able_bodied_dataset": able_bodied_dataset,
              "stroke_dataset": stroke_dataset or None, "split": split,
              "max_pairs": int(max_pairs),
              "speed_subset": list(speed_subset or []),
              "num_samples": int(num_samples), "seed": int(seed),
              "simple_baselines": bool(simple_baselines),
              "randomised_encoding": bool(randomised_encoding),
              "num_steps": num_steps, "which": str(which),
              "temperature": temperature,
              "checkpoints": {n: os.fspath(v) for n, v in models.items()
                              if isinstance(v, (str, os.PathLike))},
              "skipped_cohorts": skipped}
  notes = []
  for name, gen in generators.items():
    trained_on = generators_lib.config_get(gen, "data", "dataset")
    if trained_on and str(trained_on) != able_bodied_dataset:
      notes.append(f"{name} was trained on {trained_on!r}, evaluated on "
                   f"{able_bodied_dataset!r}")
  if skipped:
    notes.append(f"--speeds selects no trial of {', '.join(skipped)}: "
                 f"skipped")
  rows = {}
  if simple_baselines and extra_baselines:
    ab_pool = next((c.pool for c in cohorts if c.name == "able_bodied"), None)
    rows, row_notes, settings["extra_rows"] = extra_rows.build_rows(
        data_dir, able_bodied_dataset, pool=ab_pool,
        regression_dataset=regression_dataset,
        evaluates_train_split=(split in (selection.ALL, "train")))
    notes += row_notes
  results = evaluate_cohorts(
      generators, cohorts, template=template, template_source=template_source,
      notes=notes,
      out_dir=out_dir, max_pairs=max_pairs, num_samples=num_samples,
      seed=seed, simple_baselines=simple_baselines,
      randomised_encoding=randomised_encoding, make_figures=make_figures,
      settings=settings, extra_rows=rows)
  logging.info("wrote %s", os.path.join(out_dir, "report.md"))
  return results


