r"""Compares how two cohorts change their gait with speed (issue 17).

  # the synthetic generator (48 subjects, generated in memory at the real
  # cohort's band speeds) vs the 8 real people of Fukuchi 2018
  python launch/compare_cohorts.py --output_dir=eval/cohorts
  # a built dataset (its subjects' trials nearest the real band speeds)
  python launch/compare_cohorts.py --synthetic=built --data_dir=data \
      --dataset=synthetic_able_bodied --split=train --output_dir=eval/cohorts
  # any folder-format dataset against another
  python launch/compare_cohorts.py --synthetic=folder \
      --synthetic_folder=my_lab/ --output_dir=eval/cohorts

Writes <output_dir>/report.md (per band pair: each cohort's population change
of mean cycle, their per-channel difference, between-subject spreads, and
the leave-one-real-person-out rows), comparison.json and cohorts.png
(gaitjax/eval/cohort_compare.py explains what is compared and why).
"""
import json
import os


from absl import flags

from gaitjax import cli

_DEFAULT_REAL = os.path.join(cli.DEFAULT_SHARED_DATA, "fukuchi2018",
                             "wbds_multispeed", "folder")

FLAGS = flags.FLAGS
flags.DEFINE_string("real_folder", os.path.normpath(_DEFAULT_REAL),
                    "Folder-format dataset of the reference cohort.")
flags.DEFINE_string("real_name", "real", "Its label.")
flags.DEFINE_enum("synthetic", "generate", ["generate", "built", "folder"],
                  "The compared cohort: generated in memory, a built "
                  "dataset (--data_dir/--dataset/--split) or a folder "
                  "(--synthetic_folder).")
flags.DEFINE_string("synthetic_name", "synthetic", "Its label.")
flags.DEFINE_integer("num_subjects", 48, "Subjects generated (generate).")
flags.DEFINE_integer("seed", 0, "Cohort seed (generate).")
flags.DEFINE_list("speeds", [], "Speeds generated, m/s (generate); default "
                  "the real cohort's mean speed in each band.")
flags.DEFINE_float("duration_s", 32.0, "Seconds per generated trial.")
flags.DEFINE_string("data_dir", "data", "Where build_data.py wrote (built).")
flags.DEFINE_string("dataset", "synthetic_able_bodied", "Built config name.")
flags.DEFINE_string("split", "train", "Split of the built dataset.")
flags.DEFINE_string("synthetic_folder", None, "Folder dataset (folder).")
flags.DEFINE_list("level_free_joints", ["hip"],
                  "Joints compared without their cycle-mean change "
                  "(conventions: see cohort_compare's docstring); empty "
                  "keeps every level change.")
flags.DEFINE_string("output_dir", None, "Report folder.")
flags.DEFINE_bool("fit_correction", False,
                  "Also fit the generator's speed correction to the real "
                  "cohort (gaitjax/eval/speed_calibration.py): writes "
                  "speed_correction.json (build_data.py --speed_correction"
                  "=...), speed_correction.py (synthetic.py's default form) "
                  "and a leave-one-person-out check to held_out.md "
                  "(~1 min for 8 people).")


def _compared_trials(band_speeds):
  """The compared cohort's trials, per --synthetic."""
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  from gaitjax.eval import cohort_compare as cc  # pylint: disable=g-import-not-at-top
  if FLAGS.synthetic == "generate":
    from gaitjax.data import synthetic  # pylint: disable=g-import-not-at-top
    try:
      speeds = [float(v) for v in FLAGS.speeds] or [
          round(v, 2) for v in band_speeds.values() if v == v]
    except ValueError as e:
      raise ConfigError(f"--speeds: {e}") from None
    return synthetic.make_able_bodied_cohort(
        seed=FLAGS.seed, num_subjects=FLAGS.num_subjects, speeds=speeds,
        duration_s=FLAGS.duration_s, rate_hz=100.0)
  if FLAGS.synthetic == "built":
    from gaitjax.data import dataset  # pylint: disable=g-import-not-at-top
    ts = dataset.load_split(FLAGS.data_dir, FLAGS.dataset, FLAGS.split)
    return cc.trials_from_arrays(ts.x, ts.speed, ts.subject,
                                 origin=f"{FLAGS.dataset}/{FLAGS.split}")
  if not FLAGS.synthetic_folder:
    raise ConfigError("--synthetic=folder needs --synthetic_folder")
  from gaitjax.data import readers  # pylint: disable=g-import-not-at-top
  return readers.read_folder(FLAGS.synthetic_folder)


def main(argv):
  del argv
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  from gaitjax.eval import cohort_compare as cc  # pylint: disable=g-import-not-at-top
  if not FLAGS.output_dir:
    raise ConfigError("--output_dir is required")
  unknown = set(FLAGS.level_free_joints) - {"hip", "knee", "ankle"}
  if unknown:
    raise ConfigError(f"--level_free_joints: unknown joint(s) "
                      f"{sorted(unknown)}; use hip, knee, ankle")
  joints = tuple(FLAGS.level_free_joints)
  real = cc.load_folder_cohort(FLAGS.real_folder, FLAGS.real_name)
  band_speeds = real.band_speeds()
  syn = cc.cohort_cycles(_compared_trials(band_speeds), FLAGS.synthetic_name,
                         band_speeds=band_speeds)
  comps = cc.compare(syn, real, joints=joints)
  lopo = cc.leave_one_out(syn, real, joints=joints)
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  report = cc.format_report(syn, real, comps, lopo)
  from gaitjax import files  # pylint: disable=g-import-not-at-top
  files.atomic_write_text(os.path.join(FLAGS.output_dir, "report.md"), report)
  data = {
      "band_speeds": {syn.name: syn.band_speeds(), real.name: band_speeds},
      "level_free_joints": list(joints),
      "pairs": [{"a": c.a, "b": c.b, "n_syn": c.n_syn, "n_real": c.n_real,
                 "diff": c.diff.tolist(), "size_syn": c.size_syn.tolist(),
                 "size_real": c.size_real.tolist(),
                 "spread_syn": c.spread_syn.tolist(),
                 "spread_real": c.spread_real.tolist(),
                 "level_syn": c.level_syn.tolist(),
                 "level_real": c.level_real.tolist()} for c in comps],
      "lopo": [{"person": r.person, "a": r.a, "b": r.b,
                "syn_vs_7": r.syn_vs_7.tolist(),
                "person_vs_7": [None if v != v else v
                                for v in r.person_vs_7.tolist()]}
               for r in lopo],
      "lopo_summary": cc.lopo_summary(lopo)}
  files.atomic_write_text(os.path.join(FLAGS.output_dir, "comparison.json"),
                        json.dumps(data, indent=1))
  fig = cc.plot_comparison(os.path.join(FLAGS.output_dir, "cohorts.png"),
                           syn, real, joints=joints)
  print(report)
  print(f"wrote {FLAGS.output_dir}/report.md, comparison.json and {fig}")
  if FLAGS.fit_correction:
    _fit_correction(real, joints)


def _fit_correction(real, joints) -> None:
  """--fit_correction: the fitted correction and its held-out check."""
  from gaitjax import files  # pylint: disable=g-import-not-at-top
  from gaitjax.eval import speed_calibration as sc  # pylint: disable=g-import-not-at-top
  corr = sc.fit_speed_correction(real, iterations=4, joints=joints)
  source = sc.correction_source(corr)
  files.atomic_write_text(
      os.path.join(FLAGS.output_dir, "speed_correction.py"), source)
  files.atomic_write_text(
      os.path.join(FLAGS.output_dir, "speed_correction.json"),
      json.dumps(corr.to_dict(), indent=1))
  held_out = sc.format_held_out(
      sc.held_out_check(real, iterations=4, joints=joints))
  files.atomic_write_text(os.path.join(FLAGS.output_dir, "held_out.md"),
                          held_out)
  print(source)
  print(held_out)
  print(f"wrote {FLAGS.output_dir}/speed_correction.json, "
        f"speed_correction.py and held_out.md")


def run() -> None:
  """Runs main with one-line errors (launch/compare_cohorts.py runs the same)."""
  cli.run(main)
