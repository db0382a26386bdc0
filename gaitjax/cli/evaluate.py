r"""Evaluates checkpoints and simple baselines on held-out subjects.

  python launch/evaluate.py --checkpoints=diffusion=runs/cpu,tcn=runs/tcn \
      --data_dir=data --output_dir=eval/cpu
  # quick look: 300 stratified pairs per cohort, 20 DDIM steps
  python launch/evaluate.py --checkpoint=runs/cpu --data_dir=data \
      --output_dir=eval/quick --max_pairs=300 --num_steps=20

Writes <output_dir>/metrics.json, report.md and figures/*.png (see
gaitjax/eval/evaluate.py) and prints Table I.
"""
import json
import os
from typing import Any, Dict, Optional, Sequence


from absl import flags

from gaitjax import cli
from gaitjax import config_utils
from gaitjax.errors import ConfigError
from gaitjax.eval import simple_baselines

FLAGS = flags.FLAGS
flags.DEFINE_list("checkpoints", [],
                  "name=path,name=path: training workdirs to evaluate.")
flags.DEFINE_string("checkpoint", None,
                    "One training workdir (named after its folder).")
flags.DEFINE_string("which", "best", "best | latest | a step number.")
flags.DEFINE_string("data_dir", "data", "Where build_data.py wrote datasets.")
flags.DEFINE_string("dataset", "synthetic_able_bodied",
                    "Able-bodied dataset (a built config).")
flags.DEFINE_string("stroke_dataset", "synthetic_stroke",
                    "Stroke dataset ('' to skip the stroke cohort).")
flags.DEFINE_string("split", "test", "Able-bodied split to evaluate "
                    "('all': every subject, for a model trained elsewhere).")
flags.DEFINE_list("cohorts", [],
                  "able_bodied,stroke: evaluate these cohorts, all from "
                  "--dataset (e.g. one folder build holding both; stroke "
                  "subjects are in its 'test' split). Default: able-bodied "
                  "from --dataset and stroke from --stroke_dataset.")
flags.DEFINE_integer("max_pairs", 0,
                     "0 = all within-subject pairs; else a stratified "
                     "subset of this many per cohort.")
flags.DEFINE_list("speeds", [], "Only trials at these speeds (m/s).")
flags.DEFINE_integer("num_samples", 1, "Samples per pair (metrics on mean).")
flags.DEFINE_integer("num_steps", None, "DDIM steps (default: checkpoint).")
flags.DEFINE_float("temperature", None,
                   "Initial-noise scale (default: checkpoint, 1): 0 = one "
                   "deterministic point estimate per pair; bands need 1.")
flags.DEFINE_integer("seed", 0, "Seed of generation, subsets, randomising.")
flags.DEFINE_string("output_dir", None, "Report folder.")
flags.DEFINE_bool("no_simple_baselines", False,
                  "Leave out copy_source, population_mean, cycle_template.")
flags.DEFINE_bool("no_extra_baselines", False,
                  "Leave out cycle_regression (and bound / noise_floor on "
                  "synthetic data).")
flags.DEFINE_string("regression_dataset", None,
                    "Fit cycle_regression on this dataset's train split "
                    "(default: --dataset's), e.g. synthetic_population.")
flags.DEFINE_bool("no_randomised_encoding", False,
                  "Skip the randomised-encoding ranks (halves the cost).")


def parse_checkpoints(entries: Sequence[str], single: Optional[str]
                      ) -> Dict[str, str]:
  """--checkpoints=name=path,... and/or --checkpoint=path -> name -> path."""
  out: Dict[str, str] = {}
  items = [(None, single)] if single else []
  for entry in entries:
    entry = entry.strip()
    if not entry:
      continue
    name, sep, path = entry.partition("=")
    if not sep or not name.strip() or not path.strip():
      raise ConfigError(f"--checkpoints: expected name=path entries, got "
                        f"{entry!r}")
    items.append((name.strip(), path.strip()))
  for name, path in items:
    if name is None:
      name = os.path.basename(os.path.normpath(path)) or "model"
    simple_baselines.check_model_name(name)
    if name in out:
      raise ConfigError(f"--checkpoints: model name {name!r} given twice")
    out[name] = path
  return out



def parse_flags(flags) -> Dict[str, Any]:
  """This module's flags -> keyword arguments of ``evaluate.evaluate``."""
  if not flags.output_dir:
    raise ConfigError("--output_dir is required")
  models = parse_checkpoints(flags.checkpoints, flags.checkpoint)
  if not models and flags.no_simple_baselines:
    raise ConfigError("nothing to evaluate: give --checkpoints or drop "
                      "--no_simple_baselines")
  if flags.max_pairs < 0:
    raise ConfigError(f"--max_pairs must be >= 0 (0 = all pairs), got "
                      f"{flags.max_pairs}")
  if flags.num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {flags.num_samples}")
  which = flags.which
  which = int(which) if str(which).isdigit() else which
  return dict(models=models, data_dir=flags.data_dir,
              out_dir=flags.output_dir, able_bodied_dataset=flags.dataset,
              stroke_dataset=flags.stroke_dataset or None, split=flags.split,
              max_pairs=flags.max_pairs,
              speed_subset=config_utils.parse_speeds(flags.speeds, "speeds") or None,
              num_samples=flags.num_samples, seed=flags.seed,
              simple_baselines=not flags.no_simple_baselines,
              randomised_encoding=not flags.no_randomised_encoding,
              num_steps=flags.num_steps, which=which,
              temperature=getattr(flags, "temperature", None),
              extra_baselines=not getattr(flags, "no_extra_baselines", False),
              regression_dataset=getattr(flags, "regression_dataset", None)
              or None,
              cohorts=tuple(getattr(flags, "cohorts", None) or ()))


def main(argv):
  del argv
  from gaitjax.eval import evaluate
  from gaitjax.eval import report
  args = parse_flags(FLAGS)
  results = evaluate.evaluate(**args)
  print(report.format_overall(results))
  # The main row is the evaluation's choice (the first diffusion model),
  # recorded with the report; the result names alone do not say it.
  with open(os.path.join(FLAGS.output_dir, "metrics.json")) as f:
    main_model = json.load(f)["extra"]["main_model"]
  paired = report.format_paired(results, main_model)
  if paired:
    print("\n" + paired)
  print(f"\nreport: {os.path.join(FLAGS.output_dir, 'report.md')}")


def run() -> None:
  """The ``gaitjax-evaluate`` console script (launch/evaluate.py runs the same)."""
  cli.run(main)
