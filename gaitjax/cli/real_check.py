r"""A trained model on real gait and under angle-convention offsets (issue 11).

  python launch/real_check.py --checkpoint=runs/quickstart/cpu \
      --output_dir=eval/real_check

Prints and writes <output_dir>/real_check.json:
* WBDS01 T01 (0.488 m/s) -> T05 (1.22 m/s): MAE (deg) of the predicted
  change of mean cycle against the dataset's own cycle averages, for the
  model with 1 and 8 samples, the cycle template and copy-source
  (needs ../shared/data, or --shared_data);
* the offset check: +-15 deg on each source channel in turn (a held-out
  synthetic source, or WBDS01 without a --data_dir), and how far the mean
  of 8 samples moves from "that channel by the offset, nothing else".
gaitjax/eval/real_check.py says exactly what is compared.
"""
import json
import os


from absl import flags

from gaitjax import cli


FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Training workdir.")
flags.DEFINE_string("which", "best", "best | latest | a step number.")
flags.DEFINE_string("shared_data", cli.DEFAULT_SHARED_DATA,
                    "Folder holding fukuchi2018/ (the real fixtures).")
flags.DEFINE_string("data_dir", None, "Built datasets: the offset check "
                    "uses the first test trial of --dataset (default: "
                    "WBDS01 T01).")
flags.DEFINE_string("dataset", "synthetic_able_bodied", "Built dataset.")
flags.DEFINE_float("offset_deg", 15.0, "Offset added to one channel.")
flags.DEFINE_integer("num_samples", 8, "Samples averaged (offset check).")
flags.DEFINE_integer("num_steps", None, "DDIM steps (default: checkpoint).")
flags.DEFINE_integer("seed", 0, "Sampling seed.")
flags.DEFINE_string("output_dir", None, "Where real_check.json goes.")


def main(argv):
  del argv
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gaitjax import files  # pylint: disable=g-import-not-at-top
  from gaitjax.errors import ConfigError  # pylint: disable=g-import-not-at-top
  from gaitjax.eval import real_check  # pylint: disable=g-import-not-at-top
  from gaitjax.generate import Generator  # pylint: disable=g-import-not-at-top
  if not FLAGS.checkpoint:
    raise ConfigError("--checkpoint is required")
  which = int(FLAGS.which) if FLAGS.which.isdigit() else FLAGS.which
  gen = Generator(FLAGS.checkpoint, which, num_steps=FLAGS.num_steps,
                  allow_extrapolation=True)
  out = {"checkpoint": FLAGS.checkpoint,
         "wbds01": real_check.wbds01_change(
             gen, FLAGS.shared_data, num_samples=(1, FLAGS.num_samples),
             seed=FLAGS.seed)}
  if FLAGS.data_dir:
    from gaitjax.data import dataset  # pylint: disable=g-import-not-at-top
    ts = dataset.load_split(FLAGS.data_dir, FLAGS.dataset, "test")
    x, v, where = ts.x[0], float(ts.speed[0]), f"{FLAGS.dataset} test[0]"
  else:
    x, v = real_check.wbds01_source(FLAGS.shared_data), real_check.T01_MPS
    where = "WBDS01 T01"
  targets = [t for t in (0.8, 1.2) if abs(t - v) > 0.05] or [v + 0.3]
  out["offsets"] = real_check.offset_shift(
      gen, x, v, targets, offset_deg=FLAGS.offset_deg,
      num_samples=FLAGS.num_samples, seed=FLAGS.seed)
  out["offsets"].update(source=where, v_src=v, v_tgt=targets)
  w = out["wbds01"]
  print("WBDS01 T01 -> T05, change of mean cycle, MAE deg: "
        + ", ".join(f"{k} {w[k]['mae']:.2f}" for k in w if k != "channels"))
  o = out["offsets"]
  print(f"offset +-{o['offset_deg']:g} deg on one channel ({where}, mean of "
        f"{o['num_samples']}): the channel's move misses the offset by "
        f"<= {o['max_shift_error']:.3f} deg, the others move <= "
        f"{o['max_other_change']:.3f} deg")
  if FLAGS.output_dir:
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    files.atomic_write_text(os.path.join(FLAGS.output_dir, "real_check.json"),
                          json.dumps(out, indent=1,
                                     default=lambda a: np.asarray(a).tolist())
                          + "\n")


def run() -> None:
  """Runs main with one-line errors (launch/real_check.py runs the same)."""
  cli.run(main)
