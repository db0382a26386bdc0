r"""Evaluates checkpoints and simple baselines on held-out subjects.

  python launch/evaluate.py --checkpoints=diffusion=runs/cpu,tcn=runs/tcn \
      --data_dir=data --output_dir=eval/cpu
  # quick look: 300 stratified pairs per cohort, 20 DDIM steps
  python launch/evaluate.py --checkpoint=runs/cpu --data_dir=data \
      --output_dir=eval/quick --max_pairs=300 --num_steps=20

Writes <output_dir>/metrics.json, report.md and figures/*.png (see
gaitjax/eval/evaluate.py) and prints Table I.
"""
import os
import sys

if __name__ == "__main__":  # run as a script: make `gaitjax` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from absl import flags  # noqa: E402

from gaitjax import cli  # noqa: E402

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


def main(argv):
  del argv
  from gaitjax.eval import evaluate
  from gaitjax.eval import report
  args = evaluate.parse_flags(FLAGS)
  results = evaluate.evaluate(**args)
  print(report.format_overall(results))
  print(f"\nreport: {os.path.join(FLAGS.output_dir, 'report.md')}")


if __name__ == "__main__":
  cli.run(main)
